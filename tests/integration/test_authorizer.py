"""The REQUEST authorizer against the tenants table in moto: tenant key → Allow with tenant id and usage-plan key."""

from __future__ import annotations

import fnmatch
import json
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from warden import constants as c
from warden.adapters.tenant_store import DynamoTenantStore
from warden.config import FailMode, StrikeLadderConfig
from warden.domain.identity import hash_api_key
from warden.models import Tenant, TenantStatus

from tests.conftest import load_event
from tests.integration.conftest import TENANT_ID, AwsStack

PLACEHOLDER_KEY = "wk_tenant-key-placeholder"


def authorizer_event(scenario: str, api_key: str) -> dict[str, Any]:
    """An authorizer event from `events/authorizer/` carrying `api_key` where the sample has its placeholder."""
    event = load_event("authorizer", scenario)
    for headers in (event["headers"], event["multiValueHeaders"]):
        for name, value in headers.items():
            if isinstance(value, list):
                headers[name] = [item.replace(PLACEHOLDER_KEY, api_key) for item in value]
            else:
                headers[name] = value.replace(PLACEHOLDER_KEY, api_key)
    return event


def effects_for(policy: dict[str, Any], method_arn: str) -> set[str]:
    """The effects of the statements whose resources cover the method ARN."""
    effects = set()
    for statement in policy["Statement"]:
        resources = statement["Resource"]
        resources = [resources] if isinstance(resources, str) else resources
        if any(fnmatch.fnmatchcase(method_arn, resource) for resource in resources):
            effects.add(statement["Effect"])
    return effects


@pytest.fixture
def authorize(
    aws: AwsStack, environment: Callable[..., None], lambda_context: Callable[[str], Any]
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    from authorizer import handler

    # The resolver is cached per container; the shared cache reset does not know it.
    handler.resolver.cache_clear()

    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = handler.lambda_handler(event, lambda_context("warden-authorizer"))
        return result

    return invoke


@pytest.fixture(scope="module")
def acme_usage_key(aws: AwsStack) -> str:
    """The API Gateway key value in acme's usage plan (what API Gateway meters and throttles by)."""
    item = aws.client("dynamodb").get_item(
        TableName=aws.resources.tenants_table,
        Key={c.TENANTS_TABLE.partition_key: {"S": hash_api_key(aws.tenant_key)}},
    )["Item"]
    usage_key: str = item["usage_key"]["S"]
    apigateway = aws.client("apigateway")
    planned = {key["id"] for key in apigateway.get_usage_plan_keys(usagePlanId=aws.resources.usage_plan_id)["items"]}
    values = {key["value"] for key in apigateway.get_api_keys(includeValues=True)["items"] if key["id"] in planned}
    assert usage_key in values
    return usage_key


@pytest.mark.parametrize("scenario", ["x_api_key", "bearer"])
def test_tenant_key_is_allowed_with_tenant_id_and_usage_key(
    aws: AwsStack, authorize: Callable[[dict[str, Any]], dict[str, Any]], acme_usage_key: str, scenario: str
) -> None:
    event = authorizer_event(scenario, aws.tenant_key)

    response = authorize(event)

    assert response["principalId"] == TENANT_ID
    assert effects_for(response["policyDocument"], event["methodArn"]) == {"Allow"}
    assert response["context"][c.AUTH_CONTEXT_TENANT_ID] == TENANT_ID
    assert response["usageIdentifierKey"] == acme_usage_key


@pytest.mark.parametrize("scenario", ["x_api_key", "bearer"])
def test_unknown_key_is_unauthorized(authorize: Callable[[dict[str, Any]], dict[str, Any]], scenario: str) -> None:
    event = authorizer_event(scenario, "wk_" + secrets.token_urlsafe(24))

    # API Gateway turns exactly this message into its 401.
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize(event)


def test_missing_key_is_unauthorized(authorize: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize(load_event("authorizer", "missing_key"))


def test_disabled_tenant_is_denied(aws: AwsStack, authorize: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    # Given a tenant whose status is disabled
    api_key = "wk_" + secrets.token_urlsafe(24)
    tenant = Tenant(tenant_id="globex-" + secrets.token_hex(4), name="Globex", status=TenantStatus.DISABLED)
    DynamoTenantStore(aws.resources.tenants_table).put(
        hash_api_key(api_key), tenant, datetime.now(UTC).isoformat(timespec="seconds")
    )
    event = authorizer_event("x_api_key", api_key)

    # When it calls with its key
    response = authorize(event)

    # Then every route is denied
    assert effects_for(response["policyDocument"], event["methodArn"]) == {"Deny"}


def test_tenant_overrides_travel_in_the_context(
    aws: AwsStack, authorize: Callable[[dict[str, Any]], dict[str, Any]]
) -> None:
    # Given a tenant stored with per-tenant overrides
    api_key = "wk_" + secrets.token_urlsafe(24)
    tenant = Tenant(
        tenant_id="initech-" + secrets.token_hex(4),
        name="Initech",
        profile="strict",
        fail_mode=FailMode.ALLOW_AND_FLAG,
        strike_ladder=StrikeLadderConfig(warn_at=2, suspend_at=4, window_days=7),
        require_policy_acceptance=True,
    )
    DynamoTenantStore(aws.resources.tenants_table).put(
        hash_api_key(api_key), tenant, datetime.now(UTC).isoformat(timespec="seconds")
    )

    # When it calls with its key
    context = authorize(authorizer_event("x_api_key", api_key))["context"]

    # Then the gateway can rebuild exactly the tenant's settings from the authorizer context
    assert all(isinstance(value, str | int | bool) for value in context.values())
    rebuilt = Tenant.from_settings(context[c.AUTH_CONTEXT_TENANT_ID], json.loads(context[c.AUTH_CONTEXT_SETTINGS]))
    assert rebuilt.settings() == tenant.settings()
    assert context[c.AUTH_CONTEXT_PROFILE] == "strict"
