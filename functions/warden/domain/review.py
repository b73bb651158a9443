"""Review items and cases: what reaches human reviewers, and in what order."""

from __future__ import annotations

from collections.abc import Sequence

from warden.models import Decision, ReviewCase, ReviewItem
from warden.taxonomy import Category

# Lower sorts first. Child safety always leads the queue.
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
    return f"{request_id}#{source}"


def open_case(item: ReviewItem, queued_at: str) -> ReviewCase:
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
    )
