"""Authorizer Lambda (REQUEST type): tenant API key → tenant id and usage-plan key; for JWT tenants, also the
end user's token → verified subject. Neither the key nor the token is ever logged."""

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
from warden.adapters.jwks import JwksSigningKeys
from warden.adapters.tenant_store import DynamoTenantStore
from warden.config import IdentityMode
from warden.constants import AUTH_CONTEXT_END_USER, AUTH_CONTEXT_PROFILE, AUTH_CONTEXT_SETTINGS, AUTH_CONTEXT_TENANT_ID
from warden.domain.tenants import TenantResolver, api_key_from_headers, user_token_from_headers
from warden.domain.user_tokens import InvalidUserTokenError, SigningKeysUnavailableError, UserTokenVerifier
from warden.models import Tenant, TenantStatus
from warden.settings import authorizer_settings

logger = Logger()


@cache
def resolver() -> TenantResolver:
    settings = authorizer_settings()
    return TenantResolver(DynamoTenantStore(settings.tenants_table), settings.cache_seconds)


@cache
def verifier() -> UserTokenVerifier:
    identity = authorizer_settings().identity
    keys = JwksSigningKeys(identity.jwks_cache_seconds, identity.jwks_refresh_cooldown_seconds)
    return UserTokenVerifier(identity.issuers, keys, identity.leeway_seconds)


class UnauthorizedError(Exception):
    """API Gateway turns exactly this message into a 401 (its UNAUTHORIZED gateway response)."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")


def _verified_end_user(tenant: Tenant, headers: dict[str, str]) -> str:
    """The `sub` of the end user's token; `UnauthorizedError` for a missing or invalid one."""
    token = user_token_from_headers(headers)
    if not token:
        logger.info("no end-user token", extra={"tenant_id": tenant.tenant_id})
        raise UnauthorizedError
    try:
        return verifier().verify(token, tenant.trusted_issuers).subject
    except InvalidUserTokenError as error:
        logger.info("end-user token rejected", extra={"tenant_id": tenant.tenant_id, "reason": error.reason})
        raise UnauthorizedError from None
    except SigningKeysUnavailableError as error:
        # Not the caller's fault: API Gateway answers 500 and the app may retry; never let the request through.
        logger.error("issuer signing keys unavailable", extra={"tenant_id": tenant.tenant_id, "reason": str(error)})
        raise


@logger.inject_lambda_context(clear_state=True)
@event_source(data_class=APIGatewayAuthorizerRequestEvent)
def lambda_handler(event: APIGatewayAuthorizerRequestEvent, context: LambdaContext) -> dict[str, Any]:
    headers = dict(event.headers or {})
    api_key = api_key_from_headers(headers)
    if not api_key:
        raise UnauthorizedError
    tenant = resolver().resolve(api_key)
    if tenant is None:
        logger.info("unknown API key")
        raise UnauthorizedError
    auth_context = {
        AUTH_CONTEXT_TENANT_ID: tenant.tenant_id,
        AUTH_CONTEXT_PROFILE: tenant.profile,
        # Authorizer context values must be strings, numbers or booleans.
        AUTH_CONTEXT_SETTINGS: json.dumps(tenant.settings(), separators=(",", ":")),
    }
    active = tenant.status is TenantStatus.ACTIVE
    if active and tenant.identity is IdentityMode.JWT:
        auth_context[AUTH_CONTEXT_END_USER] = _verified_end_user(tenant, headers)
    arn = event.parsed_arn
    response = APIGatewayAuthorizerResponse(
        principal_id=tenant.tenant_id,
        region=arn.region,
        aws_account_id=arn.aws_account_id,
        api_id=arn.api_id,
        stage=arn.stage,
        context=auth_context,
        usage_identifier_key=tenant.usage_key,
    )
    if not active:
        logger.info("disabled tenant", extra={"tenant_id": tenant.tenant_id})
        response.deny_all_routes()
    else:
        response.allow_all_routes()
    return response.asdict()
