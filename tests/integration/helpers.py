"""Helpers shared by the integration tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from warden.config import StrikeLadderConfig, ThrottleConfig

from tests.conftest import load_event

# A fixed moment and the default ladder's shape, for tests that drive the user store directly.
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LADDER = StrikeLadderConfig(
    warn_at=1, throttle_at=3, suspend_at=5, window_days=30, throttle=ThrottleConfig(requests=5, per_seconds=60)
)


def messages_event(scenario: str, user_id: str | None = None, text: str | None = None) -> dict[str, Any]:
    """A `POST /v1/messages` event from `events/gateway/`, with this test's end user and prompt."""
    event = load_event("gateway", scenario)
    body = json.loads(event["body"])
    if user_id is not None:
        body["metadata"] = {"user_id": user_id}
    if text is not None:
        body["messages"] = [{"role": "user", "content": text}]
    event["body"] = json.dumps(body)
    return event


def response_headers(result: dict[str, Any]) -> dict[str, str]:
    """A proxy response's headers, lower-cased, with multi-value headers joined as API Gateway does."""
    headers = {name.lower(): str(value) for name, value in (result.get("headers") or {}).items()}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers[name.lower()] = ", ".join(str(value) for value in values)
    return headers


def drain_queue(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """Receive and delete everything on a queue; return what was there."""
    drained: list[dict[str, Any]] = []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        drained.extend(messages)
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )
    return drained


def queue_arn(sqs: Any, queue_url: str) -> str:
    arn: str = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return arn
