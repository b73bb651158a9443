"""Opening review cases: SLA due times, and the one priority notice per new child-safety case."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from warden.config import ReviewSlaConfig
from warden.domain.review import open_review_case, review_priority
from warden.models import Decision, PriorityCaseNotice, ReviewCase, ReviewItem, ReviewSource
from warden.taxonomy import Category

NOW = datetime(2025, 8, 14, 9, 31, tzinfo=UTC)
SLA = ReviewSlaConfig(sla_hours={"child_safety": 1, "fraud_abuse": 4, "default": 24})


class FakeCases:
    def __init__(self) -> None:
        self.cases: dict[str, ReviewCase] = {}
        self.claimed: set[str] = set()

    def create(self, case: ReviewCase) -> bool:
        return self.cases.setdefault(case.case_id, case) is case

    def claim_notification(self, case_id: str, at: str) -> bool:
        if case_id in self.claimed:
            return False
        self.claimed.add(case_id)
        return True

    def release_notification(self, case_id: str) -> None:
        self.claimed.discard(case_id)


class FakeNotifier:
    def __init__(self, fail: bool = False) -> None:
        self.published: list[PriorityCaseNotice] = []
        self.fail = fail

    def publish(self, notice: PriorityCaseNotice) -> None:
        if self.fail:
            raise RuntimeError("SNS is down")
        self.published.append(notice)


def item(*categories: Category, decision: Decision = Decision.BLOCKED) -> ReviewItem:
    return ReviewItem(
        request_id="wrq_01K2PQ8Z3M4N5P6Q7R8S9T0VWX",
        tenant_id="acme",
        user_hash="af2b" * 16,
        categories=list(categories),
        decision=decision,
        source=ReviewSource.INPUT,
        s3_key="records/dt=2025-08-14/hour=09/wrq_01K2PQ8Z3M4N5P6Q7R8S9T0VWX.json",
        priority=review_priority(categories, decision),
        created_at="2025-08-14T09:30:00.123Z",
    )


@pytest.mark.parametrize(
    ("categories", "due"),
    [
        ((Category.CHILD_SAFETY, Category.FRAUD_ABUSE), "2025-08-14T10:30:00.123Z"),
        ((Category.FRAUD_ABUSE,), "2025-08-14T13:30:00.123Z"),
        ((Category.ELECTIONS,), "2025-08-15T09:30:00.123Z"),
        ((), "2025-08-15T09:30:00.123Z"),
    ],
)
def test_sla_is_due_after_the_tightest_sla_of_the_case_categories(categories: tuple[Category, ...], due: str) -> None:
    opened = open_review_case(item(*categories), NOW, SLA, FakeCases(), FakeNotifier())

    assert opened.case.sla_due_at == due
    assert opened.case.queued_at == "2025-08-14T09:31:00.000Z"


def test_new_child_safety_case_publishes_references_only() -> None:
    notifier = FakeNotifier()

    opened = open_review_case(item(Category.CHILD_SAFETY), NOW, SLA, FakeCases(), notifier)

    assert opened.notified
    assert notifier.published == [
        PriorityCaseNotice(
            case_id="wrq_01K2PQ8Z3M4N5P6Q7R8S9T0VWX.input",
            request_id="wrq_01K2PQ8Z3M4N5P6Q7R8S9T0VWX",
            tenant_id="acme",
            categories=[Category.CHILD_SAFETY],
            priority=0,
            sla_due_at="2025-08-14T10:30:00.123Z",
        )
    ]
    assert "user_hash" not in notifier.published[0].model_dump_json()


def test_redelivered_child_safety_item_does_not_publish_again() -> None:
    cases, notifier = FakeCases(), FakeNotifier()

    open_review_case(item(Category.CHILD_SAFETY), NOW, SLA, cases, notifier)
    again = open_review_case(item(Category.CHILD_SAFETY), NOW, SLA, cases, notifier)

    assert (again.created, again.notified, len(notifier.published)) == (False, False, 1)


@pytest.mark.parametrize("decision", [Decision.BLOCKED, Decision.FLAGGED])
def test_ordinary_case_publishes_nothing(decision: Decision) -> None:
    notifier = FakeNotifier()

    opened = open_review_case(item(Category.WEAPONS_ILLEGAL_GOODS, decision=decision), NOW, SLA, FakeCases(), notifier)

    assert opened.created and not opened.notified
    assert notifier.published == []


def test_failed_publish_is_retried_by_the_redelivered_item() -> None:
    # Given a new child-safety case whose notice could not be published
    cases = FakeCases()
    with pytest.raises(RuntimeError):
        open_review_case(item(Category.CHILD_SAFETY), NOW, SLA, cases, FakeNotifier(fail=True))

    # When SQS delivers the item again
    notifier = FakeNotifier()
    retried = open_review_case(item(Category.CHILD_SAFETY), NOW, SLA, cases, notifier)

    # Then the case is not created twice, and its notice goes out now
    assert (retried.created, retried.notified, len(notifier.published)) == (False, True, 1)
