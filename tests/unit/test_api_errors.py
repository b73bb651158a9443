"""Warden's errors in the Anthropic error shape, always naming the request."""

from __future__ import annotations

from warden.api_errors import error_response
from warden.errors import InvalidRequestError, PermissionDeniedError, UpstreamError


def test_error_body_has_the_anthropic_shape_and_the_request_id() -> None:
    status, body, _ = error_response(InvalidRequestError("max_tokens: too big"), "wrq_1")

    assert status == 400
    assert body == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "max_tokens: too big"},
        "warden": {"request_id": "wrq_1"},
    }


def test_error_body_carries_the_errors_warden_details() -> None:
    error = PermissionDeniedError(
        "blocked", warden={"decision": "blocked", "categories": ["fraud_abuse"], "user_status": "warned"}
    )

    _, body, _ = error_response(error, "wrq_1")

    assert body["warden"] == {
        "request_id": "wrq_1",
        "decision": "blocked",
        "categories": ["fraud_abuse"],
        "user_status": "warned",
    }


def test_upstream_error_keeps_claudes_status_type_and_headers() -> None:
    error = UpstreamError(529, "overloaded_error", "Claude: Overloaded", headers={"retry-after": "3"})

    status, body, headers = error_response(error, "wrq_1")

    assert (status, body["error"]["type"], headers) == (529, "overloaded_error", {"retry-after": "3"})
