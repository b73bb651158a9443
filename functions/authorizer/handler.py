"""Authorizer Lambda (REQUEST type): tenant API key → tenant id and usage-plan key."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerRequestEvent,
    APIGatewayAuthorizerResponse,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from warden.adapters.tenant_store import DynamoTenantStore
from warden.constants import AUTH_CONTEXT_PROFILE, AUTH_CONTEXT_SETTINGS, AUTH_CONTEXT_TENANT_ID
from warden.domain.tenants import TenantResolver, api_key_from_headers
from warden.models import TenantStatus
from warden.settings import authorizer_settings

logger = Logger()


@cache
def resolver() -> TenantResolver:
    settings = authorizer_settings()
    return TenantResolver(DynamoTenantStore(settings.tenants_table), settings.cache_seconds)


class UnauthorizedError(Exception):
    """API Gateway turns exactly this message into a 401 (its UNAUTHORIZED gateway response)."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")


@logger.inject_lambda_context(clear_state=True)
@event_source(data_class=APIGatewayAuthorizerRequestEvent)
def lambda_handler(event: APIGatewayAuthorizerRequestEvent, context: LambdaContext) -> dict[str, Any]:
    api_key = api_key_from_headers(event.headers or {})
    if not api_key:
        raise UnauthorizedError
    tenant = resolver().resolve(api_key)
    if tenant is None:
        logger.info("unknown API key")
        raise UnauthorizedError
    arn = event.parsed_arn
    response = APIGatewayAuthorizerResponse(
        principal_id=tenant.tenant_id,
        region=arn.region,
        aws_account_id=arn.aws_account_id,
        api_id=arn.api_id,
        stage=arn.stage,
        context={
            AUTH_CONTEXT_TENANT_ID: tenant.tenant_id,
            AUTH_CONTEXT_PROFILE: tenant.profile,
            # Authorizer context values must be strings, numbers or booleans.
            AUTH_CONTEXT_SETTINGS: json.dumps(tenant.settings(), separators=(",", ":")),
        },
        usage_identifier_key=tenant.usage_key,
    )
    if tenant.status is not TenantStatus.ACTIVE:
        logger.info("disabled tenant", extra={"tenant_id": tenant.tenant_id})
        response.deny_all_routes()
    else:
        response.allow_all_routes()
    return response.asdict()
