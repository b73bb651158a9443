"""The Anthropic error shape, for Warden's own errors and for API Gateway's gateway responses alike."""

from __future__ import annotations

from typing import Any

from warden.errors import WardenError, error_type_of, http_status_of


def anthropic_error_body(error_type: str, message: str, warden: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "error", "error": {"type": error_type, "message": message}}
    if warden:
        body["warden"] = warden
    return body


def error_response(error: WardenError, request_id: str) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Status, body and headers for a Warden error; the body always names the request."""
    warden = {"request_id": request_id, **error.warden}
    return http_status_of(error), anthropic_error_body(error_type_of(error), error.message, warden), dict(error.headers)


# The reviewer API's refusal of a missing or wrong reviewer token (its authorizer runs before any Lambda).
REVIEWER_UNAUTHORIZED: tuple[int, str, str] = (
    401,
    "authentication_error",
    "sign in as a reviewer: send your reviewer token as Authorization: Bearer (tenant keys are not accepted here)",
)

# API Gateway's own refusals (before any Lambda runs), in the same shape. The CDK stack turns these into
# GatewayResponses; the local stack's HTTP adapter uses them for the same situations.
GATEWAY_RESPONSES: dict[str, tuple[int, str, str]] = {
    "UNAUTHORIZED": (
        401,
        "authentication_error",
        "invalid or missing credentials: send your Warden tenant key as x-api-key, and for tenants that identify "
        "end users by token, a valid end-user token (warden-user-token header)",
    ),
    "ACCESS_DENIED": (403, "permission_error", "this API key is not allowed to call this endpoint"),
    "MISSING_AUTHENTICATION_TOKEN": (404, "not_found_error", "no such endpoint"),
    "INVALID_API_KEY": (401, "authentication_error", "invalid API key"),
    "THROTTLED": (429, "rate_limit_error", "tenant rate limit exceeded; retry after a short wait"),
    "QUOTA_EXCEEDED": (429, "rate_limit_error", "tenant quota exhausted for this period"),
    "REQUEST_TOO_LARGE": (413, "request_too_large", "request body too large"),
    "BAD_REQUEST_BODY": (400, "invalid_request_error", "request body does not match the Messages request shape"),
    "DEFAULT_4XX": (400, "invalid_request_error", "invalid request"),
    "DEFAULT_5XX": (500, "api_error", "internal gateway error"),
}
