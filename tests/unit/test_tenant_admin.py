"""Tenant administration with in-memory collaborators: keys shown once and stored hashed, rotation, disable."""

from __future__ import annotations

import pytest
from warden.config import UsagePlanConfig
from warden.domain.identity import hash_api_key
from warden.domain.tenant_admin import (
    TenantAdmin,
    TenantExistsError,
    TenantRecord,
    UnknownTenantError,
    UsagePlanBinding,
    new_tenant_key,
)
from warden.models import Tenant, TenantStatus


class MemoryRegistry:
    def __init__(self) -> None:
        self.items: dict[str, TenantRecord] = {}

    def put_record(self, record: TenantRecord) -> None:
        self.items[record.key_hash] = record

    def records_of(self, tenant_id: str) -> list[TenantRecord]:
        return [r for r in self.items.values() if r.tenant.tenant_id == tenant_id]

    def all_records(self) -> list[TenantRecord]:
        return list(self.items.values())

    def delete_record(self, key_hash: str) -> None:
        del self.items[key_hash]

    def set_status(self, key_hash: str, status: TenantStatus) -> None:
        record = self.items[key_hash]
        self.items[key_hash] = TenantRecord(
            key_hash, record.tenant.model_copy(update={"status": status}), record.created_at, record.usage_plan_id,
            record.usage_key_id,
        )  # fmt: skip


class MemoryPlans:
    def __init__(self) -> None:
        self.plans: dict[str, UsagePlanConfig] = {}
        self.enabled: dict[str, bool] = {}

    def create(self, tenant_id: str, limits: UsagePlanConfig) -> UsagePlanBinding:
        self.plans[f"plan-{tenant_id}"] = limits
        self.enabled[f"key-{tenant_id}"] = True
        return UsagePlanBinding(f"plan-{tenant_id}", f"key-{tenant_id}", f"usage-{tenant_id}")

    def limits(self, usage_plan_id: str) -> UsagePlanConfig | None:
        return self.plans.get(usage_plan_id)

    def set_key_enabled(self, usage_key_id: str, enabled: bool) -> None:
        self.enabled[usage_key_id] = enabled


@pytest.fixture
def admin() -> TenantAdmin:
    return TenantAdmin(MemoryRegistry(), MemoryPlans(), clock=lambda: "2026-01-01T00:00:00+00:00")


def test_new_keys_are_prefixed_and_unguessable() -> None:
    keys = {new_tenant_key() for _ in range(100)}

    assert len(keys) == 100
    assert all(key.startswith("wk_") and len(key) >= 43 for key in keys)


def test_create_stores_the_hash_and_binds_the_usage_plan(admin: TenantAdmin) -> None:
    record, api_key = admin.create(Tenant(tenant_id="acme", name="Acme"), UsagePlanConfig(rate_limit=5))

    assert record.key_hash == hash_api_key(api_key)
    assert api_key not in repr(admin.registry.all_records())
    assert record.tenant.usage_key == "usage-acme"
    assert admin.summaries()[0].limits == UsagePlanConfig(rate_limit=5)


def test_create_refuses_an_existing_tenant_id(admin: TenantAdmin) -> None:
    admin.create(Tenant(tenant_id="acme", name="Acme"), UsagePlanConfig())

    with pytest.raises(TenantExistsError):
        admin.create(Tenant(tenant_id="acme", name="Other"), UsagePlanConfig())


def test_rotate_replaces_the_key_and_keeps_the_tenant(admin: TenantAdmin) -> None:
    first, old_key = admin.create(Tenant(tenant_id="acme", name="Acme", profile="strict"), UsagePlanConfig())

    rotated, new_key = admin.rotate_key("acme")

    assert new_key != old_key
    assert [r.key_hash for r in admin.registry.all_records()] == [hash_api_key(new_key)]
    assert rotated.tenant == first.tenant and rotated.created_at == first.created_at


def test_disable_marks_every_key_and_the_usage_key(admin: TenantAdmin) -> None:
    admin.create(Tenant(tenant_id="acme", name="Acme"), UsagePlanConfig())

    tenant = admin.disable("acme")

    assert tenant.status is TenantStatus.DISABLED
    assert all(r.tenant.status is TenantStatus.DISABLED for r in admin.registry.all_records())
    assert admin.plans.enabled == {"key-acme": False}  # type: ignore[attr-defined]


@pytest.mark.parametrize("command", ["rotate_key", "disable"])
def test_unknown_tenant_is_refused(admin: TenantAdmin, command: str) -> None:
    with pytest.raises(UnknownTenantError, match="no tenant with id 'ghost'"):
        getattr(admin, command)("ghost")
