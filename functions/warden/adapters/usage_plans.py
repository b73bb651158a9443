"""API Gateway usage plans for tenants: one plan per tenant on the API's stage, and the key that selects it.

The authorizer returns the tenant's usage-plan key value (`usageIdentifierKey`), so API Gateway throttles
and meters each tenant by its own plan.
"""

from __future__ import annotations

import secrets
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from warden.config import UsagePlanConfig
from warden.domain.tenant_admin import UsagePlanBinding
from warden.errors import StorageError

USAGE_PLAN_PREFIX = "warden-tenant-"


class ApiGatewayUsagePlans:
    def __init__(self, apigateway: Any, rest_api_id: str, stage_name: str):
        self.apigateway = apigateway
        self.rest_api_id = rest_api_id
        self.stage_name = stage_name

    def _call(self, operation: str, **kwargs: Any) -> Any:
        try:
            return getattr(self.apigateway, operation)(**kwargs)
        except (ClientError, BotoCoreError) as error:
            raise StorageError(f"API Gateway {operation} failed: {error}") from error

    def create(self, tenant_id: str, limits: UsagePlanConfig) -> UsagePlanBinding:
        name = f"{USAGE_PLAN_PREFIX}{tenant_id}"
        plan: dict[str, Any] = {
            "name": name,
            "description": f"Warden tenant {tenant_id}",
            "apiStages": [{"apiId": self.rest_api_id, "stage": self.stage_name}],
            "throttle": {"rateLimit": float(limits.rate_limit), "burstLimit": limits.burst_limit},
        }
        if limits.quota_per_month is not None:
            plan["quota"] = {"limit": limits.quota_per_month, "period": "MONTH"}
        plan_id = self._call("create_usage_plan", **plan)["id"]
        usage_key = secrets.token_urlsafe(30)
        key_id = self._call("create_api_key", name=name, enabled=True, value=usage_key)["id"]
        self._call("create_usage_plan_key", usagePlanId=plan_id, keyId=key_id, keyType="API_KEY")
        return UsagePlanBinding(usage_plan_id=plan_id, usage_key_id=key_id, usage_key=usage_key)

    def limits(self, usage_plan_id: str) -> UsagePlanConfig | None:
        try:
            plan = self.apigateway.get_usage_plan(usagePlanId=usage_plan_id)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "NotFoundException":
                return None
            raise StorageError(f"API Gateway get_usage_plan failed: {error}") from error
        throttle, quota = plan.get("throttle") or {}, plan.get("quota") or {}
        return UsagePlanConfig(
            rate_limit=throttle.get("rateLimit") or UsagePlanConfig().rate_limit,
            burst_limit=throttle.get("burstLimit") or UsagePlanConfig().burst_limit,
            quota_per_month=quota.get("limit"),
        )

    def set_key_enabled(self, usage_key_id: str, enabled: bool) -> None:
        self._call(
            "update_api_key",
            apiKey=usage_key_id,
            patchOperations=[{"op": "replace", "path": "/enabled", "value": str(enabled).lower()}],
        )
