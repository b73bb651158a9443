"""Reviewer decisions against moto: conditional claims and decisions, their effect on strikes and standing, the
false-positive counters and the append-only reviewer action log."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from warden.adapters.case_store import DynamoCaseStore
from warden.adapters.reviewer_log import DynamoReviewerLog
from warden.adapters.user_store import DynamoUserStore
from warden.domain.decisions import (
    claim_case,
    clear_user_strikes,
    decide_case,
    reinstate_user,
    reviewer_action,
    suspend_user,
)
from warden.domain.strikes import StrikeLadder
from warden.errors import ConflictError, NotFoundError
from warden.ids import new_request_id
from warden.models import CaseStatus, Decision, ReviewCase, ReviewerActionKind, ReviewSource, UserStatus
from warden.taxonomy import Category

from tests.integration.conftest import TENANT_ID, AwsStack
from tests.integration.helpers import LADDER, NOW


@pytest.fixture
def cases(aws: AwsStack, environment: Callable[..., None]) -> DynamoCaseStore:
    return DynamoCaseStore(aws.resources.cases_table)


@pytest.fixture
def users(aws: AwsStack, environment: Callable[..., None]) -> DynamoUserStore:
    return DynamoUserStore(aws.resources.users_table, StrikeLadder(LADDER), actions_table=aws.resources.cases_table)


@pytest.fixture
def log(aws: AwsStack, environment: Callable[..., None]) -> DynamoReviewerLog:
    return DynamoReviewerLog(aws.resources.cases_table)


def open_case(
    cases: DynamoCaseStore,
    user_hash: str,
    decision: Decision = Decision.BLOCKED,
    category: Category = Category.FRAUD_ABUSE,
    request_id: str | None = None,
) -> ReviewCase:
    request_id = request_id or new_request_id()
    case = ReviewCase(
        case_id=f"{request_id}.input",
        request_id=request_id,
        source="input",
        tenant_id=TENANT_ID,
        user_hash=user_hash,
        categories=[category],
        decision=decision,
        s3_key=f"records/dt=2026-03-01/hour=12/{request_id}.json",
        priority=10 if decision is Decision.BLOCKED else 20,
        created_at="2026-03-01T12:00:00.000Z",
        queued_at="2026-03-01T12:00:01.000Z",
        sla_due_at="2026-03-02T12:00:00.000Z",
        screeners={category: ["fast"]},
    )
    assert cases.create(case)
    return case


def blocked(users: DynamoUserStore, cases: DynamoCaseStore, user_hash: str, count: int) -> list[ReviewCase]:
    """`count` blocked requests of one user: a strike and an open case each."""
    made = []
    for minutes in range(count):
        made.append(open_case(cases, user_hash))
        users.add_strike(
            user_hash, TENANT_ID, made[-1].request_id, [Category.FRAUD_ABUSE], NOW + timedelta(minutes=minutes)
        )
    return made


def new_user() -> str:
    return secrets.token_hex(32)


# ---------------------------------------------------------------------------------------------- claims


def test_of_two_concurrent_claims_exactly_one_wins(cases: DynamoCaseStore, log: DynamoReviewerLog) -> None:
    # Given an open case and eight reviewers racing for it
    case = open_case(cases, new_user())

    def claim(reviewer: str) -> str:
        try:
            claim_case(cases, case.case_id, reviewer, NOW)
            return "won"
        except ConflictError:
            return "lost"

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(claim, [f"reviewer-{n}" for n in range(8)]))

    # Then one claims it, seven are told it is taken, and the log holds the one claim
    assert sorted(results) == ["lost"] * 7 + ["won"]
    stored = cases.get(case.case_id)
    assert stored is not None and stored.status is CaseStatus.CLAIMED
    claims = log.list_by_case(case.case_id, case.user_hash)
    assert [(a.action, a.reviewer) for a in claims] == [(ReviewerActionKind.CLAIM, stored.claimed_by)]


def test_claiming_again_is_idempotent_and_an_unknown_case_is_not_found(
    cases: DynamoCaseStore, log: DynamoReviewerLog
) -> None:
    case = open_case(cases, new_user())

    claim_case(cases, case.case_id, "ana", NOW)
    again = claim_case(cases, case.case_id, "ana", NOW + timedelta(minutes=1))

    assert again.claimed_by == "ana"
    assert len(log.list_by_case(case.case_id, case.user_hash)) == 1
    with pytest.raises(NotFoundError):
        claim_case(cases, "wrq_unknown.input", "ana", NOW)


# ---------------------------------------------------------------------------------------------- decisions


def test_a_case_claimed_by_another_or_already_decided_cannot_be_decided(
    cases: DynamoCaseStore, users: DynamoUserStore
) -> None:
    user_hash = new_user()
    case = blocked(users, cases, user_hash, 1)[0]
    claim_case(cases, case.case_id, "ana", NOW)

    with pytest.raises(ConflictError):
        decide_case(cases, users, case.case_id, "bob", "confirm", "looks right", NOW)
    decide_case(cases, users, case.case_id, "ana", "confirm", "a phishing kit", NOW)
    with pytest.raises(ConflictError):
        decide_case(cases, users, case.case_id, "ana", "dismiss", "changed my mind", NOW)


def test_confirming_a_flag_adds_exactly_one_strike(cases: DynamoCaseStore, users: DynamoUserStore) -> None:
    # Given a flagged request (served, no strike) reviewed on its prompt and on its answer
    user_hash, request_id = new_user(), new_request_id()
    prompt = open_case(cases, user_hash, Decision.FLAGGED, request_id=request_id)
    answer = prompt.model_copy(update={"case_id": f"{request_id}.output", "source": ReviewSource.OUTPUT})
    assert cases.create(answer)

    # When both are confirmed, and the first confirmation is retried
    first = decide_case(cases, users, prompt.case_id, "ana", "confirm", "a scam script", NOW)
    retried = decide_case(cases, users, prompt.case_id, "ana", "confirm", "a scam script", NOW)
    decide_case(cases, users, answer.case_id, "ana", "confirm", "the answer helped", NOW)

    # Then the user has one strike, and the ladder warned them
    assert first.standing is not None and first.standing.status is UserStatus.WARNED
    assert retried.replayed
    standing = users.get_standing_detail(user_hash, NOW)
    assert [strike.request_id for strike in standing.strikes] == [request_id]


def test_a_confirmed_flag_is_struck_on_its_tenants_own_ladder_and_only_then_is_it_looked_up(
    cases: DynamoCaseStore, users: DynamoUserStore
) -> None:
    # Given a tenant whose ladder suspends at once for fraud, a flagged case and a blocked case of its users
    strict = StrikeLadder(LADDER.model_copy(update={"suspend_immediately": (Category.FRAUD_ABUSE,)}))
    asked: list[str] = []

    def tenant_ladder(tenant_id: str) -> StrikeLadder:
        asked.append(tenant_id)
        return strict

    flagged = open_case(cases, new_user(), Decision.FLAGGED)
    [blocked_case] = blocked(users, cases, new_user(), 1)

    # When a reviewer dismisses the block and confirms the flag
    decide_case(cases, users, blocked_case.case_id, "ana", "dismiss", "benign", NOW, tenant_ladder)
    confirmed = decide_case(cases, users, flagged.case_id, "ana", "confirm", "a phishing kit", NOW, tenant_ladder)

    # Then only the confirmation asked for the tenant's ladder, and that ladder decided the user's status
    assert asked == [TENANT_ID]
    assert confirmed.standing is not None and confirmed.standing.status is UserStatus.SUSPENDED


def test_dismissing_a_block_lowers_the_status_and_counts_a_false_positive(
    cases: DynamoCaseStore, users: DynamoUserStore
) -> None:
    # Given a user throttled by three blocks
    user_hash = new_user()
    made = blocked(users, cases, user_hash, 3)
    before = cases.false_positive_counts().get(Category.FRAUD_ABUSE, {}).get("fast", 0)

    # When a reviewer dismisses one
    decided = decide_case(
        cases, users, made[0].case_id, "ana", "dismiss", "a security course", NOW + timedelta(hours=1)
    )

    # Then two strikes count (warned), at once on the next request, and the fast tier has one more false positive
    assert decided.case.status is CaseStatus.DECIDED
    assert users.get_standing(user_hash, NOW + timedelta(hours=1)).status is UserStatus.WARNED
    assert cases.false_positive_counts()[Category.FRAUD_ABUSE]["fast"] == before + 1


def test_escalation_reopens_the_case_for_someone_else_at_a_higher_priority(cases: DynamoCaseStore, users: Any) -> None:
    case = open_case(cases, new_user(), Decision.FLAGGED)
    claim_case(cases, case.case_id, "ana", NOW)

    escalated = decide_case(cases, users, case.case_id, "ana", "escalate", "needs legal", NOW)

    stored = cases.get(case.case_id)
    assert stored == escalated.case
    assert (stored.status, stored.escalated, stored.priority, stored.claimed_by) == (CaseStatus.OPEN, True, 5, None)
    assert cases.list_by_user(case.user_hash).cases[0].priority == 5
    claim_case(cases, case.case_id, "senior-1", NOW)


# ---------------------------------------------------------------------------------------------- users


def test_a_manual_suspension_survives_a_dismissal_and_a_reinstatement_lifts_it(
    cases: DynamoCaseStore, users: DynamoUserStore, log: DynamoReviewerLog
) -> None:
    # Given a warned user whom a reviewer suspends by hand
    user_hash = new_user()
    case = blocked(users, cases, user_hash, 1)[0]
    suspended = suspend_user(users, user_hash, "ana", "coordinated abuse across accounts", NOW)
    assert suspended.status is UserStatus.SUSPENDED and suspended.suspended_by_reviewer

    # When the one strike is dismissed: the ladder says active, the suspension stands
    later = NOW + timedelta(minutes=1)
    decide_case(cases, users, case.case_id, "bob", "dismiss", "benign", later)
    assert users.get_standing(user_hash, later).status is UserStatus.SUSPENDED

    # When a reviewer reinstates them: the next request's standing is active
    latest = NOW + timedelta(minutes=2)
    reinstate_user(users, user_hash, "ana", "appeal upheld", latest)
    standing = users.get_standing(user_hash, latest)
    assert (standing.status, standing.suspended_by_reviewer) == (UserStatus.ACTIVE, False)
    kinds = [action.action for action in log.list_by_user(user_hash)]
    assert kinds == [ReviewerActionKind.SUSPEND, ReviewerActionKind.DISMISS, ReviewerActionKind.REINSTATE]


def test_reinstating_lifts_a_ladder_suspension_and_clearing_strikes_keeps_a_manual_one(
    cases: DynamoCaseStore, users: DynamoUserStore
) -> None:
    ladder_suspended = new_user()
    blocked(users, cases, ladder_suspended, 5)
    assert users.get_standing(ladder_suspended, NOW).status is UserStatus.SUSPENDED

    reinstate_user(users, ladder_suspended, "ana", "appeal upheld", NOW)
    assert users.get_standing(ladder_suspended, NOW).status is UserStatus.ACTIVE

    manual = new_user()
    blocked(users, cases, manual, 2)
    suspend_user(users, manual, "ana", "ban evasion", NOW)
    cleared = clear_user_strikes(users, manual, "bob", "strikes were a bad rule", NOW)
    assert (cleared.active_strikes, cleared.status) == (0, UserStatus.SUSPENDED)
    assert users.get_standing(manual, NOW).status is UserStatus.SUSPENDED


# ---------------------------------------------------------------------------------------------- the log


def test_a_log_entry_is_never_overwritten(log: DynamoReviewerLog) -> None:
    user_hash = new_user()
    entry = reviewer_action(ReviewerActionKind.SUSPEND, "ana", NOW, user_hash, None, "first")
    log.append(entry)

    with pytest.raises(ConflictError):
        log.append(entry.model_copy(update={"reason": "rewritten"}))
    assert [action.reason for action in log.list_by_user(user_hash)] == ["first"]


def test_log_entries_stay_out_of_the_case_listings(cases: DynamoCaseStore, log: DynamoReviewerLog) -> None:
    case = open_case(cases, new_user())
    claim_case(cases, case.case_id, "ana", NOW)

    assert [c.case_id for c in cases.list_by_user(case.user_hash).cases] == [case.case_id]
    assert cases.get(log.list_by_user(case.user_hash)[0].action_id) is None


# ---------------------------------------------------------------------------------------------- concurrency


def test_of_concurrent_decisions_on_one_case_exactly_one_stands(
    cases: DynamoCaseStore, users: DynamoUserStore, log: DynamoReviewerLog
) -> None:
    # Given an unclaimed blocked case, and six reviewers deciding it at once (three dismiss, three confirm)
    user_hash = new_user()
    [case] = blocked(users, cases, user_hash, 1)
    before = cases.false_positive_counts().get(Category.FRAUD_ABUSE, {}).get("fast", 0)

    def decide(n: int) -> str:
        try:
            decide_case(cases, users, case.case_id, f"reviewer-{n}", "dismiss" if n % 2 else "confirm", "seen", NOW)
            return "decided"
        except ConflictError:
            return "conflict"

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(decide, range(6)))

    # Then one decision stands, the others are told it was decided, and its effects happened once
    assert sorted(results) == ["conflict"] * 5 + ["decided"]
    stored = cases.get(case.case_id)
    assert stored is not None and stored.status is CaseStatus.DECIDED
    entries = log.list_by_case(case.case_id, user_hash)
    assert [(a.action.value, a.reviewer) for a in entries] == [(stored.review_decision, stored.decided_by)]
    dismissed = stored.review_decision == "dismiss"
    after = cases.false_positive_counts().get(Category.FRAUD_ABUSE, {}).get("fast", 0)
    assert after == before + (1 if dismissed else 0)
    assert users.activity(user_hash, NOW)[0].violations == (0 if dismissed else 1)


def test_clearing_strikes_while_they_are_dismissed_counts_each_dismissal_once(
    cases: DynamoCaseStore, users: DynamoUserStore
) -> None:
    # Given a user with four blocked cases (four strikes)
    user_hash = new_user()
    made = blocked(users, cases, user_hash, 4)

    # When reviewers dismiss each case while another clears all the user's strikes
    def dismiss(case: ReviewCase) -> None:
        decide_case(cases, users, case.case_id, "ana", "dismiss", "not a violation", NOW)

    with ThreadPoolExecutor(5) as pool:
        cleared = pool.submit(clear_user_strikes, users, user_hash, "bo", "appeal", NOW)
        list(pool.map(dismiss, made))
        cleared.result()

    # Then no strike counts and the violations count is exactly zero (each strike taken off once)
    activity, _ = users.activity(user_hash, NOW)
    assert (activity.violations, activity.active_strikes) == (0, 0)
    assert activity.status is UserStatus.ACTIVE
