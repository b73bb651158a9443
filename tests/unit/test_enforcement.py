"""Enforcement in the gateway pipeline (throttle, immediate suspension, per-tenant ladder, policy acceptance),
the standing and acceptance operations behind `/v1/users/{user_id}`, and the reviewer's strike dismissal."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from warden.config import StrikeLadderConfig, UsagePolicyConfig
from warden.constants import HEADER_RETRY_AFTER, HEADER_WARNING
from warden.domain.enforcement import dismiss_strike
from warden.domain.gateway import MessagesResult, serve_messages
from warden.domain.standing import accept_policy, user_standing
from warden.domain.strikes import StrikeLadder
from warden.errors import InvalidRequestError, PermissionDeniedError, RateLimitedError
from warden.models import RateBucket, Tenant, UserStanding, UserStatus
from warden.taxonomy import Category

from tests.unit.fakes import FakeUserStore, StaticScreener
from tests.unit.test_gateway_pipeline import (
    BLOCKING_SCORES,
    KEY,
    NOW,
    RAW_USER_ID,
    REQUEST_ID,
    TENANT,
    USER_HASH,
    Pipeline,
    pipeline,
    request_body,
)

EPOCH = int(NOW.timestamp())
POLICY = UsagePolicyConfig(version="2025-09-15", url="https://example.com/aup")


def serve(flow: Pipeline, tenant: Tenant | None = None, **overrides: Any) -> MessagesResult:
    return serve_messages(
        request_body(**overrides), tenant or Tenant(tenant_id=TENANT, name=TENANT), REQUEST_ID, flow.deps
    )


def throttled(flow: Pipeline, tokens: float | None = None) -> None:
    """The user is throttled for another hour (warned for a month), with `tokens` left in the bucket."""
    flow.users.set_status(USER_HASH, UserStatus.THROTTLED, until=EPOCH + 3600, warned_until=EPOCH + 30 * 86_400)
    if tokens is not None:
        flow.users.users[USER_HASH].bucket = RateBucket(tokens=tokens, at_ms=EPOCH * 1000, sequence=4)


# ------------------------------------------------------------------------------------------------ throttle


def test_throttled_user_within_the_rate_is_served_with_a_warning() -> None:
    flow = pipeline()
    throttled(flow)

    result = serve(flow)

    assert flow.claude.calls
    assert "rate-limited" in result.headers[HEADER_WARNING]
    assert flow.users.users[USER_HASH].bucket == RateBucket(tokens=4.0, at_ms=EPOCH * 1000, sequence=1)


def test_throttled_user_over_the_rate_gets_429_with_retry_after_before_screening() -> None:
    # Given a throttled user whose bucket is empty
    flow = pipeline(screener=StaticScreener("fast", BLOCKING_SCORES))
    throttled(flow, tokens=0.0)

    # When they send a request
    with pytest.raises(RateLimitedError) as caught:
        serve(flow)

    # Then it is refused with the Anthropic rate-limit error and when to retry, unscreened, with no new strike
    error = caught.value
    assert (error.status, error.error_type) == (429, "rate_limit_error")
    assert error.headers[HEADER_RETRY_AFTER] == "12"  # 5 per minute: one token every 12 s
    assert error.warden["user_status"] == "throttled"
    assert error.warden["decision"] == "rate_limited"
    assert error.warden["throttle"] == {"requests": 5, "per_seconds": 60, "until": EPOCH + 3600, "retry_after": 12}
    assert isinstance(flow.screener, StaticScreener) and flow.screener.texts == []
    assert flow.claude.calls == []
    assert flow.users.strike_calls == []


def test_active_and_warned_users_never_touch_the_rate_limiter() -> None:
    flow = pipeline()
    serve(flow)
    flow.users.set_status(USER_HASH, UserStatus.WARNED, until=EPOCH + 60)
    serve(flow)

    assert flow.users.token_calls == 0


def test_a_throttle_that_has_ended_is_not_enforced() -> None:
    flow = pipeline()
    flow.users.set_status(USER_HASH, UserStatus.THROTTLED, until=EPOCH, warned_until=EPOCH + 60)
    flow.users.users[USER_HASH].bucket = RateBucket(tokens=0.0, at_ms=EPOCH * 1000, sequence=9)

    result = serve(flow)

    assert flow.users.token_calls == 0
    assert "rate-limited" not in result.headers[HEADER_WARNING]


def test_third_block_throttles_the_user() -> None:
    flow = pipeline(screener=StaticScreener("fast", BLOCKING_SCORES))
    statuses = []
    for _ in range(3):
        with pytest.raises(PermissionDeniedError) as caught:
            serve(flow)
        statuses.append(caught.value.warden["user_status"])

    assert statuses == ["warned", "warned", "throttled"]


# ----------------------------------------------------------------------------- severity and tenant ladders


def test_a_child_safety_block_suspends_at_once() -> None:
    flow = pipeline(screener=StaticScreener("fast", {Category.CHILD_SAFETY: 0.99}))

    with pytest.raises(PermissionDeniedError) as caught:
        serve(flow)

    assert caught.value.warden["user_status"] == "suspended"
    assert len(flow.users.strike_calls) == 1


def test_the_tenants_own_ladder_is_used() -> None:
    flow = pipeline(screener=StaticScreener("fast", BLOCKING_SCORES))
    strict = Tenant(
        tenant_id=TENANT, name=TENANT, strike_ladder=StrikeLadderConfig(warn_at=1, throttle_at=None, suspend_at=1)
    )

    with pytest.raises(PermissionDeniedError) as caught:
        serve(flow, strict)

    assert caught.value.warden["user_status"] == "suspended"
    assert flow.users.ladders_used[-1].config == strict.strike_ladder


# ----------------------------------------------------------------------------------------- policy acceptance

REQUIRING = Tenant(tenant_id=TENANT, name=TENANT, require_policy_acceptance=True)


def test_a_user_who_has_not_accepted_the_policy_is_refused_before_screening() -> None:
    flow = pipeline()
    version = flow.deps.config.usage_policy.version

    with pytest.raises(PermissionDeniedError) as caught:
        serve(flow, REQUIRING)

    error = caught.value
    assert error.error_type == "permission_error"
    assert version in error.message
    assert error.warden["decision"] == "policy_not_accepted"
    assert error.warden["policy"]["required_version"] == version
    assert error.warden["policy"]["accepted_version"] is None
    assert flow.claude.calls == []


def test_a_user_who_accepted_an_older_version_is_asked_again() -> None:
    flow = pipeline()
    flow.users.record_policy_acceptance(USER_HASH, "2020-01-01", NOW)

    with pytest.raises(PermissionDeniedError) as caught:
        serve(flow, REQUIRING)

    assert caught.value.warden["policy"]["accepted_version"] == "2020-01-01"
    assert "2020-01-01" in caught.value.message


def test_a_user_who_accepted_the_current_version_is_served() -> None:
    flow = pipeline()
    flow.users.record_policy_acceptance(USER_HASH, flow.deps.config.usage_policy.version, NOW)

    serve(flow, REQUIRING)

    assert flow.claude.calls


def test_tenants_that_do_not_require_acceptance_serve_everyone() -> None:
    flow = pipeline()

    serve(flow)

    assert flow.claude.calls


def test_a_suspended_user_is_told_about_the_suspension_not_the_policy() -> None:
    flow = pipeline()
    flow.users.set_status(USER_HASH, UserStatus.SUSPENDED)

    with pytest.raises(PermissionDeniedError) as caught:
        serve(flow, REQUIRING)

    assert caught.value.warden["decision"] == "suspended"


# ----------------------------------------------------------------------------------- standing and acceptance


@pytest.fixture
def users() -> FakeUserStore:
    return FakeUserStore(StrikeLadder(StrikeLadderConfig()))


def standing(users: FakeUserStore, tenant: Tenant = REQUIRING) -> dict[str, Any]:
    return user_standing(RAW_USER_ID, tenant, KEY, users, users.ladder, POLICY, NOW)


def test_an_unknown_user_is_active_with_no_strikes(users: FakeUserStore) -> None:
    view = standing(users)

    assert view["user_hash"] == USER_HASH
    assert (view["status"], view["active_strikes"], view["strikes"], view["throttle"]) == ("active", 0, [], None)
    assert view["policy"] == {
        "current_version": POLICY.version,
        "url": POLICY.url,
        "accepted_version": None,
        "acceptance_required": True,
        "accepted": False,
    }


def test_standing_lists_active_strikes_and_the_throttle(users: FakeUserStore) -> None:
    for index in range(3):
        users.add_strike(USER_HASH, TENANT, f"wrq_{index}", [Category.FRAUD_ABUSE], NOW - timedelta(hours=index))

    view = standing(users)

    assert view["status"] == "throttled"
    assert view["active_strikes"] == 3
    assert view["strikes"][0]["categories"] == ["fraud_abuse"]
    assert view["strikes"][0]["expires_at"] == EPOCH + 30 * 86_400
    assert view["throttle"] == {"until": EPOCH + 86_400, "requests": 5, "per_seconds": 60}  # from the newest


def test_accepting_the_current_version_is_recorded_and_idempotent(users: FakeUserStore) -> None:
    body = json.dumps({"version": POLICY.version}).encode()

    first = accept_policy(RAW_USER_ID, body, REQUIRING, KEY, users, users.ladder, POLICY, NOW)
    second = accept_policy(RAW_USER_ID, body, REQUIRING, KEY, users, users.ladder, POLICY, NOW)

    assert first == second
    assert first["policy"]["accepted"] is True
    assert first["policy_version_accepted"] == POLICY.version


@pytest.mark.parametrize("body", [b'{"version": "2020-01-01"}', b"{}", b"[]", b"", b'{"version": 1}'])
def test_accepting_anything_but_the_current_version_is_refused_naming_it(users: FakeUserStore, body: bytes) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        accept_policy(RAW_USER_ID, body, REQUIRING, KEY, users, users.ladder, POLICY, NOW)

    assert POLICY.version in caught.value.message
    assert caught.value.warden["policy"]["current_version"] == POLICY.version
    assert users.users == {}


def test_acceptance_body_must_be_json(users: FakeUserStore) -> None:
    with pytest.raises(InvalidRequestError, match="not valid JSON"):
        accept_policy(RAW_USER_ID, b"{version", REQUIRING, KEY, users, users.ladder, POLICY, NOW)


@pytest.mark.parametrize("user_id", ["", "x" * 257])
def test_standing_needs_a_sensible_user_id(users: FakeUserStore, user_id: str) -> None:
    with pytest.raises(InvalidRequestError, match="user_id"):
        user_standing(user_id, REQUIRING, KEY, users, users.ladder, POLICY, NOW)


# ------------------------------------------------------------------------------------------ strike dismissal


class RecordingDismisser:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str, str]] = []

    def dismiss_strike(
        self, user_hash: str, request_id: str, reviewer: str, reason: str, now: datetime
    ) -> UserStanding:
        self.calls.append((user_hash, request_id, reviewer, reason))
        return UserStanding(user_hash=user_hash)


def test_a_dismissal_reaches_the_store_with_the_reason_trimmed() -> None:
    store = RecordingDismisser()

    dismiss_strike(store, USER_HASH, "wrq_1", "reviewer-7", "  satire, not a threat ", NOW)

    assert store.calls == [(USER_HASH, "wrq_1", "reviewer-7", "satire, not a threat")]


@pytest.mark.parametrize(
    ("user_hash", "request_id", "reviewer", "reason", "message"),
    [
        ("raw-user-id", "wrq_1", "r", "why", "user_hash"),
        (USER_HASH, " ", "r", "why", "request_id"),
        (USER_HASH, "wrq_1", "", "why", "reviewer"),
        (USER_HASH, "wrq_1", "r", "   ", "reason"),
        (USER_HASH, "wrq_1", "r", "x" * 2001, "reason"),
    ],
)
def test_a_malformed_dismissal_is_refused(
    user_hash: str, request_id: str, reviewer: str, reason: str, message: str
) -> None:
    store = RecordingDismisser()

    with pytest.raises(InvalidRequestError, match=message):
        dismiss_strike(store, user_hash, request_id, reviewer, reason, NOW)

    assert store.calls == []
