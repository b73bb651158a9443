"""Review items and cases: what reaches human reviewers, in what order, by when, and who is told at once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from warden.config import ReviewSlaConfig
from warden.models import Decision, PriorityCaseNotice, ReviewCase, ReviewItem
from warden.taxonomy import Category

# Lower sorts first. Child safety always leads the queue. The review item carries categories and the decision,
# not screener scores, so severity is the decision (blocked before flagged) and confidence plays no part here.
PRIORITY_CHILD_SAFETY = 0
PRIORITY_BLOCKED = 10
PRIORITY_FLAGGED = 20
PRIORITY_UNCHECKED = 30


def review_priority(categories: Sequence[Category], decision: Decision) -> int:
    if Category.CHILD_SAFETY in categories:
        return PRIORITY_CHILD_SAFETY
    if decision is Decision.BLOCKED:
        return PRIORITY_BLOCKED
    if categories:
        return PRIORITY_FLAGGED
    return PRIORITY_UNCHECKED


def case_id_for(request_id: str, source: str) -> str:
    """One case per (request, source): the idempotency key of case creation."""
    return f"{request_id}.{source}"


def timestamp(at: datetime) -> str:
    """The case timestamps' shape: UTC, milliseconds, `Z` (sorts as text)."""
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def sla_due_at(created_at: str, categories: Sequence[Category], sla: ReviewSlaConfig) -> str:
    return timestamp(datetime.fromisoformat(created_at) + timedelta(hours=sla.hours_for(categories)))


def open_case(item: ReviewItem, queued_at: str, sla: ReviewSlaConfig) -> ReviewCase:
    return ReviewCase(
        case_id=case_id_for(item.request_id, item.source.value),
        request_id=item.request_id,
        source=item.source,
        tenant_id=item.tenant_id,
        user_hash=item.user_hash,
        categories=list(item.categories),
        decision=item.decision,
        s3_key=item.s3_key,
        priority=item.priority,
        created_at=item.created_at,
        queued_at=queued_at,
        sla_due_at=sla_due_at(item.created_at, item.categories, sla),
        screeners={category: list(names) for category, names in item.screeners.items()},
    )


def is_priority_case(case: ReviewCase) -> bool:
    """Cases someone is told about the moment they open (child safety), besides taking the head of the queue."""
    return case.priority == PRIORITY_CHILD_SAFETY


def priority_notice(case: ReviewCase) -> PriorityCaseNotice:
    return PriorityCaseNotice.model_validate(case.model_dump(include=set(PriorityCaseNotice.model_fields)))


class CaseStore(Protocol):
    def create(self, case: ReviewCase) -> bool: ...

    def claim_notification(self, case_id: str, at: str) -> bool: ...

    def release_notification(self, case_id: str) -> None: ...


class CaseNotifier(Protocol):
    def publish(self, notice: PriorityCaseNotice) -> None: ...


@dataclass(frozen=True)
class CaseOpened:
    case: ReviewCase
    created: bool
    notified: bool


def open_review_case(
    item: ReviewItem, now: datetime, sla: ReviewSlaConfig, store: CaseStore, notifier: CaseNotifier
) -> CaseOpened:
    """Open the item's case (once) and, for a priority case, publish its notice once.

    The notice is claimed on the case before it is published, so a redelivered item never publishes again; a
    publish that fails gives the claim back and raises, so the retried item publishes it then.
    """
    case = open_case(item, queued_at=timestamp(now), sla=sla)
    created = store.create(case)
    if not is_priority_case(case) or not store.claim_notification(case.case_id, timestamp(now)):
        return CaseOpened(case=case, created=created, notified=False)
    try:
        notifier.publish(priority_notice(case))
    except Exception:
        store.release_notification(case.case_id)
        raise
    return CaseOpened(case=case, created=created, notified=True)
