"""Tenant administration (`warden tenants`): create, list, rotate a key, disable.

A tenant is one item per API key in the tenants table, keyed by the key's SHA-256 (the key itself is shown
once and never stored), plus its own API Gateway usage plan and usage-plan key (throttling and quota).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Protocol

from warden.config import UsagePlanConfig
from warden.domain.identity import hash_api_key
from warden.models import Tenant, TenantStatus

TENANT_KEY_PREFIX = "wk_"
# 32 random bytes (256 bits): no salt or slow hash is needed for a secret nobody can guess.
TENANT_KEY_BYTES = 32


def new_tenant_key() -> str:
    return TENANT_KEY_PREFIX + secrets.token_urlsafe(TENANT_KEY_BYTES)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class TenantAdminError(Exception):
    """A tenant command that cannot be carried out; the message says why."""


class UnknownTenantError(TenantAdminError):
    def __init__(self, tenant_id: str):
        super().__init__(f"no tenant with id '{tenant_id}'")


class TenantExistsError(TenantAdminError):
    def __init__(self, tenant_id: str):
        super().__init__(f"a tenant with id '{tenant_id}' already exists")


@dataclass(frozen=True)
class UsagePlanBinding:
    """A tenant's API Gateway usage plan and the key (`usage_key`, its value) that ties requests to it."""

    usage_plan_id: str
    usage_key_id: str
    usage_key: str


@dataclass(frozen=True)
class TenantRecord:
    """One key item of a tenant in the tenants table."""

    key_hash: str
    tenant: Tenant
    created_at: str
    usage_plan_id: str | None = None
    usage_key_id: str | None = None


@dataclass(frozen=True)
class TenantSummary:
    """What `warden tenants list` shows: never a key or a key hash."""

    tenant: Tenant
    created_at: str
    limits: UsagePlanConfig | None


class TenantRegistry(Protocol):
    def put_record(self, record: TenantRecord) -> None: ...
    def records_of(self, tenant_id: str) -> list[TenantRecord]: ...
    def all_records(self) -> list[TenantRecord]: ...
    def delete_record(self, key_hash: str) -> None: ...
    def set_status(self, key_hash: str, status: TenantStatus) -> None: ...


class UsagePlans(Protocol):
    def create(self, tenant_id: str, limits: UsagePlanConfig) -> UsagePlanBinding: ...
    def limits(self, usage_plan_id: str) -> UsagePlanConfig | None: ...
    def set_key_enabled(self, usage_key_id: str, enabled: bool) -> None: ...


class TenantAdmin:
    def __init__(
        self,
        registry: TenantRegistry,
        plans: UsagePlans,
        clock: Callable[[], str] = _now,
        new_key: Callable[[], str] = new_tenant_key,
    ):
        self.registry = registry
        self.plans = plans
        self.clock = clock
        self.new_key = new_key

    def create(self, tenant: Tenant, limits: UsagePlanConfig) -> tuple[TenantRecord, str]:
        """Register `tenant` with its own usage plan; return its record and its API key (to show once)."""
        if self.registry.records_of(tenant.tenant_id):
            raise TenantExistsError(tenant.tenant_id)
        binding = self.plans.create(tenant.tenant_id, limits)
        api_key = self.new_key()
        record = TenantRecord(
            key_hash=hash_api_key(api_key),
            tenant=tenant.model_copy(update={"usage_key": binding.usage_key}),
            created_at=self.clock(),
            usage_plan_id=binding.usage_plan_id,
            usage_key_id=binding.usage_key_id,
        )
        self.registry.put_record(record)
        return record, api_key

    def summaries(self) -> list[TenantSummary]:
        by_tenant: dict[str, TenantRecord] = {}
        for record in self.registry.all_records():
            known = by_tenant.get(record.tenant.tenant_id)
            if known is None or record.created_at < known.created_at:
                by_tenant[record.tenant.tenant_id] = record
        return [
            TenantSummary(
                record.tenant,
                record.created_at,
                self.plans.limits(record.usage_plan_id) if record.usage_plan_id else None,
            )
            for _, record in sorted(by_tenant.items())
        ]

    def rotate_key(self, tenant_id: str) -> tuple[TenantRecord, str]:
        """A new key for the tenant; its old keys stop working (within the authorizer's cache TTL)."""
        current = self._records(tenant_id)
        api_key = self.new_key()
        record = replace(current[0], key_hash=hash_api_key(api_key))
        self.registry.put_record(record)
        for old in current:
            self.registry.delete_record(old.key_hash)
        return record, api_key

    def disable(self, tenant_id: str) -> Tenant:
        """Every key of the tenant refused (authorizer) and its usage-plan key disabled (API Gateway)."""
        records = self._records(tenant_id)
        for record in records:
            self.registry.set_status(record.key_hash, TenantStatus.DISABLED)
        for usage_key_id in {record.usage_key_id for record in records if record.usage_key_id}:
            self.plans.set_key_enabled(usage_key_id, enabled=False)
        return records[0].tenant.model_copy(update={"status": TenantStatus.DISABLED})

    def _records(self, tenant_id: str) -> list[TenantRecord]:
        records = self.registry.records_of(tenant_id)
        if not records:
            raise UnknownTenantError(tenant_id)
        return sorted(records, key=lambda record: record.created_at)
