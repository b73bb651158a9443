"""Warden's own exceptions. Each carries the HTTP status and Anthropic error type it maps to."""

from __future__ import annotations

from typing import Any, ClassVar


class WardenError(Exception):
    """Base of every error that reaches the app as an Anthropic-shaped error response."""

    status: ClassVar[int] = 500
    error_type: ClassVar[str] = "api_error"

    def __init__(self, message: str, *, headers: dict[str, str] | None = None, warden: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.headers = headers or {}
        self.warden = warden or {}


class InvalidRequestError(WardenError):
    status = 400
    error_type = "invalid_request_error"


class AuthenticationError(WardenError):
    status = 401
    error_type = "authentication_error"


class PermissionDeniedError(WardenError):
    status = 403
    error_type = "permission_error"


class NotFoundError(WardenError):
    status = 404
    error_type = "not_found_error"


class ConflictError(WardenError):
    """The target changed under the caller: a case another reviewer holds or already decided."""

    status = 409
    error_type = "conflict_error"


class RequestTooLargeError(WardenError):
    status = 413
    error_type = "request_too_large"


class RateLimitedError(WardenError):
    status = 429
    error_type = "rate_limit_error"


class DependencyUnavailableError(WardenError):
    """A required dependency (AWS service, screener) failed and the tenant fails closed."""

    status = 503
    error_type = "api_error"


class UpstreamError(WardenError):
    """Claude answered with an error; status and type are Claude's own."""

    def __init__(self, status: int, error_type: str, message: str, *, headers: dict[str, str] | None = None):
        super().__init__(message, headers=headers)
        self.upstream_status = status
        self.upstream_error_type = error_type

    @property
    def http_status(self) -> int:
        return self.upstream_status


class StorageError(Exception):
    """An AWS storage adapter failed (already retried by the adapter)."""


class ScreenerFailedError(Exception):
    """A screener could not produce a verdict (timeout, API error, malformed output)."""


def http_status_of(error: WardenError) -> int:
    return error.http_status if isinstance(error, UpstreamError) else error.status


def error_type_of(error: WardenError) -> str:
    return error.upstream_error_type if isinstance(error, UpstreamError) else error.error_type
