"""What the reviewer API reads: who the reviewer is, case listings, a case with its audit record, users by
violations, one user's history. Writes (claims, decisions, user actions) are `warden.domain.decisions`."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from warden.domain.decisions import SENIOR_REVIEWERS_GROUP, require_note, require_user_hash
from warden.domain.json_text import UNPAIRED_SURROGATE, load_json, refuse_unpaired_surrogates
from warden.domain.strikes import StrikeLadder
from warden.errors import AuthenticationError, InvalidRequestError, NotFoundError, PermissionDeniedError
from warden.models import (
    CasePage,
    CaseStatus,
    ReviewCase,
    ReviewerAction,
    UserActivity,
    UserActivityPage,
    UserStanding,
)

REVIEWERS_GROUP = "reviewers"
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
MAX_BODY_BYTES = 16 * 1024
# `<request id>.<source>`: anything else (the table's counters and log entries) is not a case.
_CASE_ID = re.compile(r"^wrq_[0-9A-HJKMNP-TV-Z]{26}\.(input|output)$")
# The parts of an audit record a reviewer needs to judge a case.
RECORD_FIELDS = (
    "request_id",
    "received_at",
    "tenant_id",
    "model",
    "system",
    "messages",
    "completion",
    "screening",
    "output_screening",
    "decision",
    "user_status",
    "latency_ms",
    "notes",
)


@dataclass(frozen=True)
class Reviewer:
    reviewer_id: str
    groups: tuple[str, ...]

    @property
    def senior(self) -> bool:
        """Handles escalated cases."""
        return SENIOR_REVIEWERS_GROUP in self.groups


def _groups(raw: Any) -> tuple[str, ...]:
    """`cognito:groups` as API Gateway passes it: a list, or one string ("a,b", "[a b]" or "a")."""
    if isinstance(raw, list | tuple):
        return tuple(str(group) for group in raw)
    text = str(raw or "").strip().strip("[]")
    return tuple(group for group in re.split(r"[,\s]+", text) if group)


def reviewer_from_claims(claims: Mapping[str, Any] | None) -> Reviewer:
    """The reviewer behind a verified token's claims; only members of the reviewers group may review."""
    if not claims:
        raise AuthenticationError("sign in as a reviewer: send your reviewer token as Authorization: Bearer")
    reviewer_id = str(claims.get("cognito:username") or claims.get("username") or "")
    if not reviewer_id:
        raise AuthenticationError("the reviewer token names no user")
    groups = _groups(claims.get("cognito:groups"))
    if REVIEWERS_GROUP not in groups:
        raise PermissionDeniedError(f"only members of the '{REVIEWERS_GROUP}' group may use the reviewer API")
    return Reviewer(reviewer_id, groups)


# ---------------------------------------------------------------- request parsing (pure)


def require_case_id(case_id: str) -> str:
    if not _CASE_ID.match(case_id):
        raise NotFoundError(f"no review case {case_id[:80]!r}: case ids look like wrq_<26 characters>.input")
    return case_id


def page_size(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_PAGE_SIZE
    # (ASCII digits only: "²" is a digit to str.isdigit and not a number to int.)
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 6) or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise InvalidRequestError(f"limit must be a whole number from 1 to {MAX_PAGE_SIZE}")
    return int(raw)


def case_status(raw: str | None) -> CaseStatus:
    try:
        return CaseStatus(raw or CaseStatus.OPEN.value)
    except ValueError:
        choices = ", ".join(status.value for status in CaseStatus)
        raise InvalidRequestError(f"status must be one of {choices}") from None


def json_body(raw: bytes | str | None) -> dict[str, Any]:
    """A small JSON object body, or a 400 saying what is wrong with it."""
    try:
        data = raw.encode() if isinstance(raw, str) else (raw or b"")
    except UnicodeEncodeError:
        raise InvalidRequestError(UNPAIRED_SURROGATE) from None
    if len(data) > MAX_BODY_BYTES:
        raise InvalidRequestError(f"the body must be at most {MAX_BODY_BYTES} bytes")
    try:
        body = load_json(data or b"{}")
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidRequestError(f"the body must be a JSON object; it is not valid JSON: {error}") from None
    if not isinstance(body, dict):
        raise InvalidRequestError("the body must be a JSON object")
    refuse_unpaired_surrogates(data, body)
    return body


def text_field(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise InvalidRequestError(f"'{name}' is required and must be a string")
    return value


def reason_of(raw: bytes | str | None) -> str:
    return require_note(text_field(json_body(raw), "reason"), "reason")


# ---------------------------------------------------------------- collaborators


class CaseReader(Protocol):
    def get(self, case_id: str) -> ReviewCase | None: ...

    def list_by_status(self, status: CaseStatus, limit: int = 50, cursor: str | None = None) -> CasePage: ...

    def list_by_tenant(self, tenant_id: str, limit: int = 50, cursor: str | None = None) -> CasePage: ...

    def list_by_user(self, user_hash: str, limit: int = 50, cursor: str | None = None) -> CasePage: ...


class RecordReader(Protocol):
    def read(self, key: str) -> dict[str, Any]:
        """The audit record at `key`; NotFoundError when there is none, StorageError when it cannot be read."""
        ...


class ActionReader(Protocol):
    def list_by_case(self, case_id: str, user_hash: str) -> list[ReviewerAction]: ...

    def list_by_user(self, user_hash: str) -> list[ReviewerAction]: ...


class UserReader(Protocol):
    def get_standing_detail(
        self, user_hash: str, now: datetime, ladder: StrikeLadder | None = None
    ) -> UserStanding: ...

    def activity(self, user_hash: str, now: datetime) -> tuple[UserActivity, UserStanding]: ...

    def list_by_violations(self, now: datetime, limit: int = 50, cursor: str | None = None) -> UserActivityPage: ...


# ---------------------------------------------------------------- views


def case_view(case: ReviewCase) -> dict[str, Any]:
    return case.model_dump(mode="json")


def action_views(actions: Sequence[ReviewerAction]) -> list[dict[str, Any]]:
    return [action.model_dump(mode="json") for action in actions]


def standing_view(standing: UserStanding | None) -> dict[str, Any] | None:
    """A user's standing for reviewers (the tenant API's view adds policy acceptance and throttle terms)."""
    if standing is None:
        return None
    return {
        "user_hash": standing.user_hash,
        "status": standing.status.value,
        "status_until": standing.status_until,
        "active_strikes": standing.active_strikes,
        "strikes": [
            {
                "request_id": strike.request_id,
                "categories": [category.value for category in strike.categories],
                "at": strike.at,
                "expires_at": strike.expires_at,
            }
            for strike in standing.strikes
            if not strike.dismissed
        ],
        "suspended_by_reviewer": standing.suspended_by_reviewer,
    }


def record_view(record: Mapping[str, Any]) -> dict[str, Any]:
    return {field: record.get(field) for field in RECORD_FIELDS}


# ---------------------------------------------------------------- the reads


def list_cases(
    cases: CaseReader,
    *,
    status: str | None,
    tenant_id: str | None,
    user_hash: str | None,
    limit: str | None,
    cursor: str | None,
) -> dict[str, Any]:
    """One page of cases in priority order: by status (default open), or a tenant's, or a user's (all statuses)."""
    size = page_size(limit)
    if tenant_id and user_hash:
        raise InvalidRequestError("list by tenant or by user_hash, not both")
    if user_hash:
        page = cases.list_by_user(require_user_hash(user_hash), size, cursor or None)
    elif tenant_id:
        page = cases.list_by_tenant(tenant_id, size, cursor or None)
    else:
        page = cases.list_by_status(case_status(status), size, cursor or None)
    return {"data": [case_view(case) for case in page.cases], "next_cursor": page.cursor}


def case_detail(
    cases: CaseReader,
    records: RecordReader,
    actions: ActionReader,
    users: UserReader,
    case_id: str,
    now: datetime,
) -> dict[str, Any]:
    """A case with what its audit record holds (prompt, completion, every screener's verdict) and its history."""
    case = cases.get(require_case_id(case_id))
    if case is None:
        raise NotFoundError(f"no review case {case_id}")
    record: dict[str, Any] | None = None
    record_error: str | None = None
    try:
        record = record_view(records.read(case.s3_key))
    except NotFoundError:
        record_error = "the audit record is not in the bucket (it may have expired under the retention policy)"
    return {
        "case": case_view(case),
        "record": record,
        "record_error": record_error,
        "actions": action_views(actions.list_by_case(case.case_id, case.user_hash)),
        "standing": standing_view(users.get_standing_detail(case.user_hash, now)),
    }


def list_users(
    users: UserReader, *, sort: str | None, limit: str | None, cursor: str | None, now: datetime
) -> dict[str, Any]:
    if (sort or "violations") != "violations":
        raise InvalidRequestError("sort must be 'violations'")
    page = users.list_by_violations(now, page_size(limit), cursor or None)
    return {"data": [user.model_dump(mode="json") for user in page.users], "next_cursor": page.cursor}


def user_detail(
    users: UserReader, cases: CaseReader, actions: ActionReader, user_hash: str, now: datetime
) -> dict[str, Any]:
    """One user's standing, counts, cases (priority order) and the reviewer actions taken on them."""
    require_user_hash(user_hash)
    activity, standing = users.activity(user_hash, now)
    return {
        "user": activity.model_dump(mode="json"),
        "standing": standing_view(standing),
        "cases": [case_view(case) for case in cases.list_by_user(user_hash, MAX_PAGE_SIZE).cases],
        "actions": action_views(actions.list_by_user(user_hash)),
    }
