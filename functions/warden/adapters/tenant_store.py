"""Tenants in DynamoDB, keyed by the SHA-256 of their API key (the key itself is never stored).

The authorizer only reads items by key hash; tenant administration (`warden tenants`) also queries the
tenant-id index, lists, deletes and disables items.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from warden.adapters.aws import client
from warden.config import DEFAULT_PROFILE
from warden.constants import TENANTS_ID_INDEX, TENANTS_ID_INDEX_PK, TENANTS_TABLE
from warden.domain.tenant_admin import TenantRecord
from warden.errors import StorageError
from warden.models import Tenant, TenantStatus

_KEY = TENANTS_TABLE.partition_key


def _tenant_from_item(item: dict[str, Any]) -> Tenant:
    # Per-tenant overrides are one JSON attribute (`Tenant.settings()`); `profile` predates it.
    settings = json.loads(item.get("settings", {}).get("S", "{}"))
    settings.setdefault("profile", item.get("profile", {}).get("S", DEFAULT_PROFILE))
    return Tenant(
        tenant_id=item["tenant_id"]["S"],
        name=item.get("name", {}).get("S", item["tenant_id"]["S"]),
        status=item.get("status", {}).get("S", "active"),
        usage_key=item.get("usage_key", {}).get("S"),
        **settings,
    )


def _record_from_item(item: dict[str, Any]) -> TenantRecord:
    return TenantRecord(
        key_hash=item[_KEY]["S"],
        tenant=_tenant_from_item(item),
        created_at=item.get("created_at", {}).get("S", ""),
        usage_plan_id=item.get("usage_plan_id", {}).get("S"),
        usage_key_id=item.get("usage_key_id", {}).get("S"),
    )


class DynamoTenantStore:
    def __init__(self, table_name: str, dynamodb: Any = None):
        self.table_name = table_name
        self._dynamodb = dynamodb

    @property
    def dynamodb(self) -> Any:
        return self._dynamodb or client("dynamodb")

    def _call(self, operation: str, what: str, **kwargs: Any) -> Any:
        try:
            return getattr(self.dynamodb, operation)(TableName=self.table_name, **kwargs)
        except (ClientError, BotoCoreError) as error:
            raise StorageError(f"tenants table {what} failed: {type(error).__name__}") from error

    def find_by_key_hash(self, key_hash: str) -> Tenant | None:
        item = self._call("get_item", "read", Key={_KEY: {"S": key_hash}}).get("Item")
        return _tenant_from_item(item) if item else None

    def put(self, key_hash: str, tenant: Tenant, created_at: str) -> None:
        self.put_record(TenantRecord(key_hash=key_hash, tenant=tenant, created_at=created_at))

    def put_record(self, record: TenantRecord) -> None:
        tenant = record.tenant
        item = {
            _KEY: {"S": record.key_hash},
            "tenant_id": {"S": tenant.tenant_id},
            "name": {"S": tenant.name},
            "status": {"S": tenant.status.value},
            "profile": {"S": tenant.profile},
            "settings": {"S": json.dumps(tenant.settings(), sort_keys=True)},
            "created_at": {"S": record.created_at},
        }
        optional = {
            "usage_key": tenant.usage_key,
            "usage_plan_id": record.usage_plan_id,
            "usage_key_id": record.usage_key_id,
        }
        item.update({name: {"S": value} for name, value in optional.items() if value})
        self._call("put_item", "write", Item=item)

    def records_of(self, tenant_id: str) -> list[TenantRecord]:
        response = self._call(
            "query",
            "query",
            IndexName=TENANTS_ID_INDEX,
            KeyConditionExpression="#t = :t",
            ExpressionAttributeNames={"#t": TENANTS_ID_INDEX_PK},
            ExpressionAttributeValues={":t": {"S": tenant_id}},
        )
        return [_record_from_item(item) for item in response.get("Items", [])]

    def all_records(self) -> list[TenantRecord]:
        """Every key item (administration only: a scan, never on the request path)."""
        records: list[TenantRecord] = []
        start: dict[str, Any] | None = None
        while True:
            page = self._call("scan", "scan", **({"ExclusiveStartKey": start} if start else {}))
            records.extend(_record_from_item(item) for item in page.get("Items", []))
            start = page.get("LastEvaluatedKey")
            if not start:
                return records

    def delete_record(self, key_hash: str) -> None:
        self._call("delete_item", "delete", Key={_KEY: {"S": key_hash}})

    def set_status(self, key_hash: str, status: TenantStatus) -> None:
        self._call(
            "update_item",
            "update",
            Key={_KEY: {"S": key_hash}},
            UpdateExpression="SET #s = :s",
            ConditionExpression="attribute_exists(#k)",
            ExpressionAttributeNames={"#s": "status", "#k": _KEY},
            ExpressionAttributeValues={":s": {"S": status.value}},
        )
