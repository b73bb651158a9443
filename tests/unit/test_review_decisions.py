"""The pure rules of reviewer decisions: who may claim and decide a case, and what a dismissal counts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from warden.config import Action, CategoryPolicy, FailMode
from warden.domain.decisions import (
    PRIORITY_ESCALATED,
    check_decidable,
    check_seniority,
    escalated_priority,
    false_positive_keys,
    is_replay,
    needs_claim,
    require_decision,
    require_note,
    require_reviewer,
    reviewer_action,
)
from warden.domain.screening import decide
from warden.errors import ConflictError, InvalidRequestError, PermissionDeniedError
from warden.models import (
    CaseStatus,
    Decision,
    ReviewCase,
    ReviewDecision,
    ReviewerActionKind,
    ReviewSource,
    ScreenerVerdict,
)
from warden.taxonomy import Category

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def case(status: CaseStatus = CaseStatus.OPEN, **fields: object) -> ReviewCase:
    return ReviewCase.model_validate(
        {
            "case_id": "wrq_01K2PQ8Z3M4N5P6Q7R8S9T0VWX.input",
            "request_id": "wrq_01K2PQ8Z3M4N5P6Q7R8S9T0VWX",
            "source": ReviewSource.INPUT,
            "tenant_id": "acme",
            "user_hash": "af2b" * 16,
            "categories": [Category.FRAUD_ABUSE, Category.PLATFORM_ABUSE],
            "decision": Decision.BLOCKED,
            "s3_key": "records/x.json",
            "priority": 10,
            "created_at": "2026-03-01T11:00:00.000Z",
            "queued_at": "2026-03-01T11:00:00.000Z",
            "sla_due_at": "2026-03-02T11:00:00.000Z",
            "status": status,
            **fields,
        }
    )


def test_an_open_case_can_be_claimed_and_a_claim_repeated_by_its_holder_changes_nothing() -> None:
    assert needs_claim(case(), "ana") is True
    assert needs_claim(case(CaseStatus.CLAIMED, claimed_by="ana"), "ana") is False


@pytest.mark.parametrize(
    "taken", [case(CaseStatus.CLAIMED, claimed_by="bob"), case(CaseStatus.DECIDED, review_decision="confirm")]
)
def test_a_case_held_by_another_or_decided_cannot_be_claimed(taken: ReviewCase) -> None:
    with pytest.raises(ConflictError):
        needs_claim(taken, "ana")


def test_only_the_holder_of_a_claimed_case_may_decide_it_and_nobody_a_decided_one() -> None:
    check_decidable(case(), "ana")
    check_decidable(case(CaseStatus.CLAIMED, claimed_by="ana"), "ana")
    with pytest.raises(ConflictError):
        check_decidable(case(CaseStatus.CLAIMED, claimed_by="bob"), "ana")
    with pytest.raises(ConflictError):
        check_decidable(case(CaseStatus.DECIDED, review_decision="dismiss", decided_by="ana"), "ana")


def test_the_same_final_decision_by_the_same_reviewer_is_a_replay_and_nothing_else_is() -> None:
    decided = case(CaseStatus.DECIDED, review_decision="dismiss", decided_by="ana")

    assert is_replay(decided, "ana", ReviewDecision.DISMISS)
    assert not is_replay(decided, "ana", ReviewDecision.CONFIRM)
    assert not is_replay(decided, "bob", ReviewDecision.DISMISS)
    assert not is_replay(case(), "ana", ReviewDecision.DISMISS)


@pytest.mark.parametrize(
    ("bad", "check"), [("maybe", require_decision), ("  ", require_note), ("x" * 2001, require_note)]
)
def test_an_unknown_decision_or_a_missing_or_overlong_note_is_invalid(bad: str, check: Callable[[str], object]) -> None:
    with pytest.raises(InvalidRequestError):
        check(bad)


def test_a_reviewer_id_is_bounded_and_plain() -> None:
    assert require_reviewer("ana.lima@example.com") == "ana.lima@example.com"
    with pytest.raises(InvalidRequestError):
        require_reviewer("ana lima")


def test_escalation_raises_priority_above_blocks_but_never_above_child_safety() -> None:
    assert escalated_priority(20) == PRIORITY_ESCALATED
    assert escalated_priority(10) == PRIORITY_ESCALATED
    assert escalated_priority(0) == 0


def test_only_senior_reviewers_handle_an_escalated_case() -> None:
    check_seniority(case(), senior=False)
    check_seniority(case(escalated=True), senior=True)
    with pytest.raises(PermissionDeniedError):
        check_seniority(case(escalated=True), senior=False)


def test_a_dismissal_counts_each_category_against_the_screeners_that_decided_it() -> None:
    dismissed = case(screeners={Category.FRAUD_ABUSE: ["fast", "moderator"]})

    assert false_positive_keys(dismissed) == [
        (Category.FRAUD_ABUSE, "fast"),
        (Category.FRAUD_ABUSE, "moderator"),
        (Category.PLATFORM_ABUSE, "unknown"),
    ]


def test_screening_names_the_screeners_whose_scores_reached_an_action() -> None:
    policies = {category: CategoryPolicy(action=Action.BLOCK, threshold=0.5) for category in Category}
    verdicts = [
        ScreenerVerdict(screener="fast", scores={Category.FRAUD_ABUSE: 0.9, Category.ELECTIONS: 0.1}),
        ScreenerVerdict(screener="moderator", scores={Category.FRAUD_ABUSE: 0.95, Category.ELECTIONS: 0.8}),
    ]

    outcome = decide(verdicts, policies, fail_mode=FailMode.CLOSED)

    assert outcome.deciding_screeners == {
        Category.FRAUD_ABUSE: ["fast", "moderator"],
        Category.ELECTIONS: ["moderator"],
    }


def test_log_entries_are_time_sortable_and_unique() -> None:
    first = reviewer_action(ReviewerActionKind.CLAIM, "ana", NOW, "af2b" * 16, "c.input", None)
    second = reviewer_action(ReviewerActionKind.CLAIM, "ana", NOW.replace(second=1), "af2b" * 16, "c.input", None)

    assert first.action_id.startswith("wra_")
    assert first.action_id < second.action_id
    assert first.at == "2026-03-01T12:00:00.000Z"
