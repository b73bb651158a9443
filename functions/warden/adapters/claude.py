"""Claude, direct (Anthropic API) or on Amazon Bedrock, through the official anthropic SDK.

Both clients post the Messages body as it came (with the hashed user id) and return Claude's Message JSON
as it arrived. They do not retry: Claude's 429/529/5xx reach the app with their status and `retry-after`,
and the app's own SDK retries with its backoff; a retry here too would multiply load and could outlast
API Gateway's 29-second integration timeout.

The SDK is imported on first use, not at module import: it is the heaviest import of the gateway, and the
cold start should not pay for it before the first request needs it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from warden.errors import DependencyUnavailableError, UpstreamError
from warden.models import ClaudeReply

# Bedrock answers in its own error shape; the app gets the Anthropic type for the same status.
_TYPE_FOR_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    503: "overloaded_error",
    529: "overloaded_error",
}
_PASSED_HEADERS = ("retry-after", "anthropic-ratelimit-requests-reset", "anthropic-ratelimit-tokens-reset")


def _upstream_error(error: Any) -> UpstreamError:
    """Translate an `anthropic.APIStatusError` into Claude's own status and error type."""
    status = int(error.status_code)
    body = error.body if isinstance(error.body, dict) else {}
    inner: dict[str, Any] = body["error"] if isinstance(body.get("error"), dict) else {}
    error_type = str(inner.get("type") or _TYPE_FOR_STATUS.get(status, "api_error"))
    message = str(inner.get("message") or body.get("message") or error.message)
    headers = {name: error.response.headers[name] for name in _PASSED_HEADERS if name in error.response.headers}
    if status == 403 and error_type == "permission_error" and not inner:
        message = f"Bedrock refused the call (check model access and the gateway's IAM permissions): {message}"
    return UpstreamError(status, error_type, f"Claude: {message}", headers=headers)


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


class _SdkClaude:
    provider = "anthropic"

    def __init__(self, timeout_seconds: float, max_retries: int):
        self.timeout_seconds = timeout_seconds
        self.max_retries = max_retries
        self._client: Any = None

    def _build(self) -> Any:
        raise NotImplementedError

    def _provider_model_id(self, model: str) -> str:
        return model

    def _prepare(self, body: dict[str, Any]) -> dict[str, Any]:
        return body

    def create_message(self, body: dict[str, Any], *, timeout: float | None = None) -> ClaudeReply:
        import anthropic

        if self._client is None:
            self._client = self._build()
        provider_model_id = self._provider_model_id(str(body["model"]))
        started = time.perf_counter()
        try:
            data = self._client.post(
                "/v1/messages",
                cast_to=object,
                body=self._prepare(body),
                options={"timeout": timeout or self.timeout_seconds},
            )
        except anthropic.APIStatusError as error:
            raise _upstream_error(error) from error
        except anthropic.APITimeoutError as error:
            raise DependencyUnavailableError("Claude did not answer in time; retry later") from error
        except anthropic.APIConnectionError as error:
            raise DependencyUnavailableError("Claude is unreachable from the gateway; retry later") from error
        if not isinstance(data, dict):
            raise DependencyUnavailableError("Claude returned a response that is not a JSON object")
        return ClaudeReply(
            body=data, provider=self.provider, provider_model_id=provider_model_id, latency_ms=_elapsed_ms(started)
        )


class AnthropicClaude(_SdkClaude):
    """The Anthropic API, with the organisation's API key."""

    provider = "anthropic"

    def __init__(
        self,
        api_key: Callable[[], str],
        base_url: str | None = None,
        timeout_seconds: float = 25.0,
        max_retries: int = 0,
    ):
        super().__init__(timeout_seconds, max_retries)
        self.api_key = api_key
        self.base_url = base_url

    def _build(self) -> Any:
        import anthropic

        return anthropic.Anthropic(
            api_key=self.api_key(), base_url=self.base_url, max_retries=self.max_retries, timeout=self.timeout_seconds
        )


class BedrockClaude(_SdkClaude):
    """Claude on Amazon Bedrock, with the function's own IAM role; Anthropic ids map to Bedrock ids."""

    provider = "bedrock"

    def __init__(
        self,
        model_map: Mapping[str, str],
        region: str | None = None,
        base_url: str | None = None,
        timeout_seconds: float = 25.0,
        max_retries: int = 0,
    ):
        super().__init__(timeout_seconds, max_retries)
        self.model_map = dict(model_map)
        self.region = region
        self.base_url = base_url

    def _build(self) -> Any:
        import anthropic

        return anthropic.AnthropicBedrock(
            aws_region=self.region, base_url=self.base_url, max_retries=self.max_retries, timeout=self.timeout_seconds
        )

    def _provider_model_id(self, model: str) -> str:
        try:
            return self.model_map[model]
        except KeyError as error:  # the config validator makes this unreachable for allowed models
            raise UpstreamError(400, "invalid_request_error", f"model {model} has no Bedrock mapping") from error

    def _prepare(self, body: dict[str, Any]) -> dict[str, Any]:
        return {**body, "model": self._provider_model_id(str(body["model"]))}


class StandInClaude:
    """The local stack's offline stand-in: answers in Claude's response shape and says plainly it is not Claude."""

    provider = "standin"
    NOTICE = "[Warden offline stand-in model: this is not Claude. Set ANTHROPIC_API_KEY to call Claude.]"

    def create_message(self, body: dict[str, Any], *, timeout: float | None = None) -> ClaudeReply:
        started = time.perf_counter()
        last = body["messages"][-1]["content"]
        text = last if isinstance(last, str) else " ".join(b.get("text", "") for b in last if b.get("type") == "text")
        reply = f"{self.NOTICE} I received {len(text)} characters: {text[:80]!r}"
        prompt_chars = sum(len(str(message.get("content"))) for message in body["messages"])
        message = {
            "id": f"msg_standin_{uuid.uuid4().hex[:24]}",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": [{"type": "text", "text": reply}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": max(1, prompt_chars // 4), "output_tokens": max(1, len(reply) // 4)},
        }
        return ClaudeReply(
            body=message, provider=self.provider, provider_model_id="standin", latency_ms=_elapsed_ms(started)
        )
