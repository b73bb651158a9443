"""Gateway Lambda: the Anthropic-compatible tenant API."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from warden.api_errors import anthropic_error_body, error_response
from warden.config import DEFAULT_PROFILE
from warden.constants import (
    AUTH_CONTEXT_END_USER,
    AUTH_CONTEXT_PROFILE,
    AUTH_CONTEXT_SETTINGS,
    AUTH_CONTEXT_TENANT_ID,
    HEADER_REQUEST_ID,
)
from warden.domain.gateway import serve_messages
from warden.domain.identity import require_own_standing
from warden.domain.standing import accept_policy, user_standing
from warden.errors import AuthenticationError, DependencyUnavailableError, StorageError, WardenError
from warden.ids import new_request_id
from warden.models import Tenant
from warden.settings import gateway_settings

from gateway import wiring

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayRestResolver()

_JSON = "application/json"


def _tenant_id() -> str:
    tenant_id = app.current_event.request_context.authorizer.get(AUTH_CONTEXT_TENANT_ID)
    if not tenant_id:
        raise AuthenticationError("no tenant in the request context: call through the Warden API with a tenant key")
    return str(tenant_id)


def _tenant() -> Tenant:
    """The tenant and its per-tenant settings from the authorizer (older cached answers carry only the profile)."""
    context = app.current_event.request_context.authorizer
    raw = context.get(AUTH_CONTEXT_SETTINGS)
    settings = json.loads(raw) if raw else {"profile": str(context.get(AUTH_CONTEXT_PROFILE) or DEFAULT_PROFILE)}
    return Tenant.from_settings(_tenant_id(), settings)


def _verified_subject() -> str | None:
    """The end user's verified token subject (JWT tenants only); never logged, only hashed."""
    subject = app.current_event.request_context.authorizer.get(AUTH_CONTEXT_END_USER)
    return str(subject) if subject else None


def _request_id() -> str:
    request_id: str = app.context.setdefault("warden_request_id", new_request_id())
    return request_id


def _json_response(status: int, body: dict[str, Any], headers: dict[str, str]) -> Response[str]:
    return Response(status_code=status, content_type=_JSON, body=json.dumps(body), headers=headers)


@app.post("/v1/messages")
@tracer.capture_method
def create_message() -> Response[str]:
    request_id = _request_id()
    tenant = _tenant()
    logger.append_keys(warden_request_id=request_id, tenant_id=tenant.tenant_id)
    raw = app.current_event.decoded_body or ""
    # (surrogatepass: a lone surrogate in the text becomes bytes the request parser refuses with a 400.)
    result = serve_messages(
        raw.encode("utf-8", "surrogatepass"), tenant, request_id, wiring.gateway_deps(), _verified_subject()
    )
    metrics.add_metric(name="RequestsServed", unit=MetricUnit.Count, value=1)
    return _json_response(200, result.body, result.headers)


def _standing_response(call: Callable[..., dict[str, Any]], user_id: str, *args: Any) -> Response[str]:
    """Run a standing operation on one end user of the current tenant (a JWT tenant's user: only their own)."""
    request_id = _request_id()
    tenant = _tenant()
    require_own_standing(tenant, user_id, _verified_subject())
    users = wiring.user_store()
    try:
        body = call(
            user_id,
            *args,
            tenant,
            wiring.user_hash_key(),
            users,
            users.ladder,
            gateway_settings().config.usage_policy,
            datetime.now(UTC),
        )
    except StorageError as error:
        raise DependencyUnavailableError("user state is unavailable; retry later") from error
    return _json_response(200, body, {HEADER_REQUEST_ID: request_id})


@app.get("/v1/users/<user_id>")
@tracer.capture_method
def get_user(user_id: str) -> Response[str]:
    return _standing_response(user_standing, unquote(user_id))


@app.post("/v1/users/<user_id>/policy-acceptance")
@tracer.capture_method
def accept_usage_policy(user_id: str) -> Response[str]:
    raw = app.current_event.decoded_body or ""
    response = _standing_response(accept_policy, unquote(user_id), raw.encode("utf-8", "surrogatepass"))
    metrics.add_metric(name="PolicyAccepted", unit=MetricUnit.Count, value=1)
    return response


@app.exception_handler(WardenError)
def handle_warden_error(error: WardenError) -> Response[str]:
    request_id = _request_id()
    status, body, headers = error_response(error, request_id)
    headers.setdefault(HEADER_REQUEST_ID, request_id)
    if status >= 500:
        logger.warning("request refused", extra={"status": status, "error_type": body["error"]["type"]})
    metrics.add_metric(name=f"Refused{status}", unit=MetricUnit.Count, value=1)
    return _json_response(status, body, headers)


@app.exception_handler(StorageError)
def handle_storage_error(error: StorageError) -> Response[str]:
    logger.exception("storage failure")
    return handle_warden_error(DependencyUnavailableError("a storage dependency is unavailable; retry later"))


@app.exception_handler(Exception)
def handle_unexpected(error: Exception) -> Response[str]:
    logger.exception("unexpected error")
    body = anthropic_error_body("api_error", "internal gateway error", {"request_id": _request_id()})
    return _json_response(500, body, {HEADER_REQUEST_ID: _request_id()})


@app.not_found
def handle_not_found(_: Exception) -> Response[str]:
    body = anthropic_error_body(
        "not_found_error", f"no such endpoint: {app.current_event.http_method} {app.current_event.path}"
    )
    return _json_response(404, body, {HEADER_REQUEST_ID: _request_id()})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
