"""Tenants in DynamoDB, keyed by the SHA-256 of their API key (the key itself is never stored)."""

from __future__ import annotations

import json

from botocore.exceptions import BotoCoreError, ClientError

from warden.adapters.aws import client
from warden.config import DEFAULT_PROFILE
from warden.constants import TENANTS_TABLE
from warden.errors import StorageError
from warden.models import Tenant


class DynamoTenantStore:
    def __init__(self, table_name: str):
        self.table_name = table_name

    def find_by_key_hash(self, key_hash: str) -> Tenant | None:
        try:
            response = client("dynamodb").get_item(
                TableName=self.table_name, Key={TENANTS_TABLE.partition_key: {"S": key_hash}}
            )
        except (ClientError, BotoCoreError) as error:
            raise StorageError(f"tenants table read failed: {type(error).__name__}") from error
        item = response.get("Item")
        if not item:
            return None
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

    def put(self, key_hash: str, tenant: Tenant, created_at: str) -> None:
        item = {
            TENANTS_TABLE.partition_key: {"S": key_hash},
            "tenant_id": {"S": tenant.tenant_id},
            "name": {"S": tenant.name},
            "status": {"S": tenant.status.value},
            "profile": {"S": tenant.profile},
            "settings": {"S": json.dumps(tenant.settings(), sort_keys=True)},
            "created_at": {"S": created_at},
        }
        if tenant.usage_key:
            item["usage_key"] = {"S": tenant.usage_key}
        try:
            client("dynamodb").put_item(TableName=self.table_name, Item=item)
        except (ClientError, BotoCoreError) as error:
            raise StorageError(f"tenants table write failed: {type(error).__name__}") from error
