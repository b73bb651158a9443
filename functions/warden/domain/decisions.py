"""Reviewer decisions: claiming and deciding cases, acting on users, and what each does to enforcement.

Every action is written with one immutable entry of the reviewer action log, in the same transaction as the
change it records. The rules live here as plain functions; the stores repeat them as write conditions, so a
case that changes between the read and the write is a `ConflictError`, never a lost update.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from warden.domain.enforcement import StrikeDismisser, dismiss_strike
from warden.domain.ports import UserStore
from warden.domain.review import timestamp
from warden.domain.strikes import StrikeLadder
from warden.errors import ConflictError, InvalidRequestError, NotFoundError, PermissionDeniedError
from warden.ids import new_request_id
from warden.models import (
    CaseStatus,
    Decision,
    ReviewCase,
    ReviewDecision,
    ReviewerAction,
    ReviewerActionKind,
    UserStanding,
)
from warden.taxonomy import Category

_REVIEWER = re.compile(r"^[A-Za-z0-9@._+-]{1,128}$")
_USER_HASH = re.compile(r"^[0-9a-f]{64}$")
MAX_NOTE_CHARS = 2000
# An escalated case goes ahead of every block and flag; child safety (0) stays first.
PRIORITY_ESCALATED = 5
# Members of this group (besides `reviewers`) handle escalated cases.
SENIOR_REVIEWERS_GROUP = "senior-reviewers"
# Counted for a dismissed case whose item did not say which screener decided (items queued before it did).
UNKNOWN_SCREENER = "unknown"


# ---------------------------------------------------------------- the rules (pure)


def require_reviewer(reviewer: str) -> str:
    if not _REVIEWER.match(reviewer):
        raise InvalidRequestError("reviewer must be an id of 1 to 128 letters, digits or @._+-")
    return reviewer


def require_note(note: str, what: str = "note") -> str:
    note = note.strip()
    if not note or len(note) > MAX_NOTE_CHARS:
        raise InvalidRequestError(f"{what} is required (1 to {MAX_NOTE_CHARS} characters)")
    return note


def require_decision(decision: str) -> ReviewDecision:
    try:
        return ReviewDecision(decision)
    except ValueError:
        choices = ", ".join(choice.value for choice in ReviewDecision)
        raise InvalidRequestError(f"decision must be one of {choices}") from None


def require_user_hash(user_hash: str) -> str:
    if not _USER_HASH.match(user_hash):
        raise InvalidRequestError("user_hash must be the 64-character hex hash Warden reports")
    return user_hash


def needs_claim(case: ReviewCase, reviewer: str) -> bool:
    """Whether claiming `case` for `reviewer` changes it (False: they hold it already); ConflictError otherwise."""
    if case.status is CaseStatus.OPEN:
        return True
    if case.status is CaseStatus.CLAIMED and case.claimed_by == reviewer:
        return False
    if case.status is CaseStatus.CLAIMED:
        raise ConflictError(f"case {case.case_id} is claimed by another reviewer")
    raise ConflictError(f"case {case.case_id} is already decided")


def check_seniority(case: ReviewCase, senior: bool) -> None:
    """An escalated case went up for a senior reviewer: only they may claim or decide it."""
    if case.escalated and not senior:
        raise PermissionDeniedError(
            f"case {case.case_id} was escalated: only senior reviewers (the '{SENIOR_REVIEWERS_GROUP}' group) "
            "may claim or decide it"
        )


def check_decidable(case: ReviewCase, reviewer: str) -> None:
    """An open case may be decided by anyone, a claimed one only by whoever holds it, a decided one by no one."""
    if case.status is CaseStatus.DECIDED:
        raise ConflictError(f"case {case.case_id} is already decided ({case.review_decision})")
    if case.status is CaseStatus.CLAIMED and case.claimed_by != reviewer:
        raise ConflictError(f"case {case.case_id} is claimed by another reviewer")


def is_replay(case: ReviewCase, reviewer: str, decision: ReviewDecision) -> bool:
    """The same reviewer sending the same final decision again (a retried request): its effects are re-applied."""
    return (
        case.status is CaseStatus.DECIDED
        and case.decided_by == reviewer
        and case.review_decision is decision
        and decision is not ReviewDecision.ESCALATE
    )


def escalated_priority(priority: int) -> int:
    return min(priority, PRIORITY_ESCALATED)


def false_positive_keys(case: ReviewCase) -> list[tuple[Category, str]]:
    """The (category, screener) pairs a dismissal counts as false positives: each category of the case, with
    each screener whose score reached its action."""
    keys: list[tuple[Category, str]] = []
    for category in case.categories:
        for screener in case.screeners.get(category) or [UNKNOWN_SCREENER]:
            if (category, screener) not in keys:
                keys.append((category, screener))
    return keys


def reviewer_action(
    kind: ReviewerActionKind, reviewer: str, now: datetime, user_hash: str, case_id: str | None, reason: str | None
) -> ReviewerAction:
    """A new log entry; its id is time-sortable, so a listing is in the order the actions were taken."""
    action_id = "wra_" + new_request_id(int(now.timestamp() * 1000)).removeprefix("wrq_")
    return ReviewerAction(
        action_id=action_id,
        action=kind,
        reviewer=reviewer,
        at=timestamp(now),
        user_hash=user_hash,
        case_id=case_id,
        reason=reason,
    )


# ---------------------------------------------------------------- collaborators


# A tenant id → that tenant's own strike ladder (None: the deployment's).
TenantLadder = Callable[[str], StrikeLadder | None]


class ReviewCases(Protocol):
    def get(self, case_id: str) -> ReviewCase | None: ...

    def claim(self, case: ReviewCase, action: ReviewerAction) -> bool: ...

    def decide(
        self, case: ReviewCase, action: ReviewerAction, false_positives: Sequence[tuple[Category, str]]
    ) -> bool: ...

    def escalate(self, case: ReviewCase, action: ReviewerAction, priority: int) -> bool: ...


class ReviewedUsers(UserStore, StrikeDismisser, Protocol):
    def get_standing_detail(
        self, user_hash: str, now: datetime, ladder: StrikeLadder | None = None
    ) -> UserStanding: ...

    def suspend(self, user_hash: str, action: ReviewerAction, now: datetime) -> UserStanding: ...

    def clear_strikes(
        self, user_hash: str, action: ReviewerAction, now: datetime, lift_suspension: bool
    ) -> UserStanding: ...


# ---------------------------------------------------------------- the operations


def _case(cases: ReviewCases, case_id: str) -> ReviewCase:
    case = cases.get(case_id)
    if case is None:
        raise NotFoundError(f"no review case {case_id}")
    return case


def _lost_race(cases: ReviewCases, case_id: str) -> ConflictError:
    """The write's condition failed: say what the case became."""
    current = _case(cases, case_id)
    if current.status is CaseStatus.DECIDED:
        return ConflictError(f"case {case_id} was decided meanwhile ({current.review_decision})")
    return ConflictError(f"case {case_id} was claimed by another reviewer meanwhile")


def claim_case(cases: ReviewCases, case_id: str, reviewer: str, now: datetime, *, senior: bool = True) -> ReviewCase:
    """Take an open case (`open` → `claimed`). Claiming a case one holds already changes nothing."""
    require_reviewer(reviewer)
    case = _case(cases, case_id)
    check_seniority(case, senior)
    if not needs_claim(case, reviewer):
        return case
    action = reviewer_action(ReviewerActionKind.CLAIM, reviewer, now, case.user_hash, case_id, None)
    if not cases.claim(case, action):
        current = _case(cases, case_id)
        if current.status is CaseStatus.CLAIMED and current.claimed_by == reviewer:
            return current
        raise _lost_race(cases, case_id)
    return case.model_copy(update={"status": CaseStatus.CLAIMED, "claimed_by": reviewer, "claimed_at": action.at})


@dataclass(frozen=True)
class CaseDecided:
    case: ReviewCase
    # The user's standing after the decision's effect; None when it had none on the user (escalate, a flag dismissed).
    standing: UserStanding | None
    # True when this repeated a decision already recorded (a retry): its effects were applied again, nothing logged.
    replayed: bool = False


def decide_case(
    cases: ReviewCases,
    users: ReviewedUsers,
    case_id: str,
    reviewer: str,
    decision: str,
    note: str,
    now: datetime,
    tenant_ladder: TenantLadder | None = None,
    *,
    senior: bool = True,
) -> CaseDecided:
    """Record a reviewer's decision on a case and feed it back into enforcement.

    `tenant_ladder` finds a tenant's own strike ladder (None: the deployment's); it is asked only when a confirmed
    flag gains a strike. `senior`: the reviewer is a senior reviewer (only they handle escalated cases). Raises
    InvalidRequestError, NotFoundError, PermissionDeniedError (an escalated case, not senior), or ConflictError
    (decided, or claimed by someone else).
    """
    require_reviewer(reviewer)
    chosen = require_decision(decision)
    note = require_note(note)
    case = _case(cases, case_id)
    check_seniority(case, senior)
    if is_replay(case, reviewer, chosen):
        return CaseDecided(
            case, _apply(case, users, chosen, reviewer, case.note or note, now, tenant_ladder), replayed=True
        )
    check_decidable(case, reviewer)
    action = reviewer_action(ReviewerActionKind(chosen.value), reviewer, now, case.user_hash, case_id, note)
    if chosen is ReviewDecision.ESCALATE:
        priority = escalated_priority(case.priority)
        if not cases.escalate(case, action, priority):
            raise _lost_race(cases, case_id)
        escalated = case.model_copy(
            update={
                "status": CaseStatus.OPEN,
                "escalated": True,
                "priority": priority,
                "claimed_by": None,
                "claimed_at": None,
                "note": note,
            }
        )
        return CaseDecided(escalated, None)
    false_positives = false_positive_keys(case) if chosen is ReviewDecision.DISMISS else []
    if not cases.decide(case, action, false_positives):
        raise _lost_race(cases, case_id)
    decided = case.model_copy(
        update={
            "status": CaseStatus.DECIDED,
            "review_decision": chosen,
            "decided_by": reviewer,
            "decided_at": action.at,
            "note": note,
        }
    )
    return CaseDecided(decided, _apply(decided, users, chosen, reviewer, note, now, tenant_ladder))


def _apply(
    case: ReviewCase,
    users: ReviewedUsers,
    decision: ReviewDecision,
    reviewer: str,
    note: str,
    now: datetime,
    tenant_ladder: TenantLadder | None,
) -> UserStanding | None:
    """A decision's effect on the user; each is idempotent, so a replayed decision can apply it again."""
    if decision is ReviewDecision.CONFIRM and case.decision is Decision.FLAGGED and case.categories:
        # One strike per request, so a request confirmed on both its prompt and its answer counts once.
        ladder = tenant_ladder(case.tenant_id) if tenant_ladder is not None else None
        return users.add_strike(case.user_hash, case.tenant_id, case.request_id, case.categories, now, ladder)
    if decision is ReviewDecision.DISMISS and case.decision is Decision.BLOCKED:
        try:
            return dismiss_strike(users, case.user_hash, case.request_id, reviewer, note, now)
        except NotFoundError:
            # The strike already expired (or was never written: the gateway noted it): nothing left to lift.
            return users.get_standing_detail(case.user_hash, now)
    return None


def suspend_user(users: ReviewedUsers, user_hash: str, reviewer: str, reason: str, now: datetime) -> UserStanding:
    """Suspend by hand: stands until a reinstatement, whatever the ladder or dismissals do."""
    action = _user_action(ReviewerActionKind.SUSPEND, user_hash, reviewer, reason, now)
    return users.suspend(user_hash, action, now)


def reinstate_user(users: ReviewedUsers, user_hash: str, reviewer: str, reason: str, now: datetime) -> UserStanding:
    """Lift a manual suspension and dismiss every active strike: the user starts again with a clean record."""
    action = _user_action(ReviewerActionKind.REINSTATE, user_hash, reviewer, reason, now)
    return users.clear_strikes(user_hash, action, now, lift_suspension=True)


def clear_user_strikes(users: ReviewedUsers, user_hash: str, reviewer: str, reason: str, now: datetime) -> UserStanding:
    """Dismiss every active strike (a manual suspension stays)."""
    action = _user_action(ReviewerActionKind.CLEAR_STRIKES, user_hash, reviewer, reason, now)
    return users.clear_strikes(user_hash, action, now, lift_suspension=False)


def _user_action(kind: ReviewerActionKind, user_hash: str, reviewer: str, reason: str, now: datetime) -> ReviewerAction:
    require_user_hash(user_hash)
    require_reviewer(reviewer)
    return reviewer_action(kind, reviewer, now, user_hash, None, require_note(reason, "reason"))
