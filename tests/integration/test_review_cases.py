"""Review cases against moto: listed by status, tenant and user in priority order, page by page."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import pytest
from warden.adapters.case_store import DynamoCaseStore, InvalidCursorError
from warden.ids import new_request_id
from warden.models import CaseStatus, ReviewCase

from tests.integration.conftest import AwsStack


def case(tenant_id: str, user_hash: str, priority: int, created_at: str) -> ReviewCase:
    request_id = new_request_id()
    return ReviewCase(
        case_id=f"{request_id}.input",
        request_id=request_id,
        source="input",
        tenant_id=tenant_id,
        user_hash=user_hash,
        categories=["child_safety"] if priority == 0 else ["fraud_abuse"],
        decision="blocked",
        s3_key=f"records/dt=2025-08-14/hour=09/{request_id}.json",
        priority=priority,
        created_at=created_at,
        queued_at=created_at,
        sla_due_at=created_at,
    )


@pytest.fixture
def store(aws: AwsStack, environment: Callable[..., None]) -> DynamoCaseStore:
    return DynamoCaseStore(aws.resources.cases_table)


@pytest.fixture
def seeded(store: DynamoCaseStore) -> tuple[str, str, list[ReviewCase]]:
    """Five cases of one new tenant and user, created out of order; returns tenant, user hash, expected order."""
    tenant_id, user_hash = "t-" + secrets.token_hex(4), secrets.token_hex(32)
    made = [
        case(tenant_id, user_hash, 20, "2025-08-14T09:00:00.000Z"),
        case(tenant_id, user_hash, 10, "2025-08-14T09:05:00.000Z"),
        case(tenant_id, user_hash, 0, "2025-08-14T09:10:00.000Z"),
        case(tenant_id, user_hash, 10, "2025-08-14T09:01:00.000Z"),
        case(tenant_id, user_hash, 0, "2025-08-14T09:20:00.000Z"),
    ]
    for each in made:
        assert store.create(each)
    expected = sorted(made, key=lambda c: (c.priority, c.created_at))
    return tenant_id, user_hash, expected


def all_pages(list_page: Callable[..., Any], key: str, limit: int) -> list[ReviewCase]:
    cases, cursor = [], None
    while True:
        page = list_page(key, limit=limit, cursor=cursor)
        cases.extend(page.cases)
        cursor = page.cursor
        if cursor is None:
            return cases


@pytest.mark.parametrize("listing", ["list_by_tenant", "list_by_user"])
def test_cases_are_listed_in_priority_then_age_order_across_pages(
    store: DynamoCaseStore, seeded: tuple[str, str, list[ReviewCase]], listing: str
) -> None:
    tenant_id, user_hash, expected = seeded
    key = tenant_id if listing == "list_by_tenant" else user_hash

    listed = all_pages(getattr(store, listing), key, limit=2)

    assert [c.case_id for c in listed] == [c.case_id for c in expected]


def test_open_cases_are_listed_child_safety_first(store: DynamoCaseStore, seeded: Any) -> None:
    first = store.list_by_status(CaseStatus.OPEN, limit=1)

    assert first.cases[0].priority == 0
    assert first.cursor is not None


def test_a_cursor_of_another_listing_is_refused(store: DynamoCaseStore, seeded: tuple[str, str, Any]) -> None:
    tenant_id, user_hash, _ = seeded
    cursor = store.list_by_tenant(tenant_id, limit=1).cursor
    assert cursor is not None

    with pytest.raises(InvalidCursorError):
        store.list_by_user(user_hash, limit=1, cursor=cursor)
    with pytest.raises(InvalidCursorError):
        store.list_by_tenant("another-tenant", limit=1, cursor=cursor)
    with pytest.raises(InvalidCursorError):
        store.list_by_tenant(tenant_id, limit=1, cursor="not-a-cursor")
