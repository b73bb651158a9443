"""A request that reached Claude never goes without its audit record, even with S3 failing for real.

S3 fails because the function is pointed at a bucket that does not exist (NoSuchBucket from the moto server);
the record then travels through the audit fallback queue and the audit-drain Lambda writes it under the same key.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from warden import constants as c
from warden.adapters.audit_store import decode_fallback, encode_fallback
from warden_local.consumer import sqs_event

from tests.conftest import load_event
from tests.fakes.anthropic_server import FakeAnthropic
from tests.integration.conftest import AwsStack, unique_user
from tests.integration.helpers import drain_queue, messages_event, queue_arn, response_headers

MISSING_BUCKET = "bucket-that-does-not-exist"


@pytest.fixture
def fallback_queue(aws: AwsStack, sqs: Any) -> str:
    """The audit fallback queue, empty at the start of the test."""
    drain_queue(sqs, aws.resources.audit_fallback_queue_url)
    return aws.resources.audit_fallback_queue_url


@pytest.fixture
def gateway(
    aws: AwsStack, environment: Callable[..., None], lambda_context: Callable[[str], Any], fake_claude: FakeAnthropic
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    from gateway.handler import lambda_handler

    fake_claude.tool_responder = lambda _: {"violations": []}
    return lambda event: lambda_handler(event, lambda_context("warden-gateway"))


@pytest.fixture
def audit_drain(
    aws: AwsStack, environment: Callable[..., None], lambda_context: Callable[[str], Any]
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The audit-drain handler in a fresh container with the real bucket."""
    from audit_drain import handler

    def drain(event: dict[str, Any]) -> dict[str, Any]:
        environment(**{c.ENV_AUDIT_BUCKET: aws.resources.audit_bucket})
        # Its store is cached per container; the shared cache reset does not know it.
        handler.store.cache_clear()
        result: dict[str, Any] = handler.lambda_handler(event, lambda_context("warden-audit-drain"))
        return result

    return drain


def test_request_is_served_and_its_record_queued_when_s3_fails(
    environment: Callable[..., None],
    gateway: Callable[[dict[str, Any]], dict[str, Any]],
    fallback_queue: str,
    sqs: Any,
) -> None:
    # Given S3 failing for the gateway
    environment(**{c.ENV_AUDIT_BUCKET: MISSING_BUCKET})

    # When an ordinary request is served
    result = gateway(messages_event("messages_allowed", unique_user()))

    # Then the app gets Claude's message and the record is on the fallback queue as a gzip envelope
    assert result["statusCode"] == 200
    assert json.loads(result["body"])["type"] == "message"
    request_id = response_headers(result)[c.HEADER_REQUEST_ID]
    [message] = sqs.receive_message(QueueUrl=fallback_queue, MaxNumberOfMessages=10).get("Messages", [])
    key, body = decode_fallback(message["Body"])
    assert key.startswith(c.AUDIT_RECORDS_PREFIX + "dt=")
    assert key.endswith(f"/{request_id}.json")
    record = json.loads(body)
    assert record["request_id"] == request_id
    assert record["decision"] == "allowed"
    assert record["claude_message_id"] == json.loads(result["body"])["id"]


def test_drain_writes_the_queued_record_to_the_bucket_under_the_same_key(
    aws: AwsStack,
    environment: Callable[..., None],
    gateway: Callable[[dict[str, Any]], dict[str, Any]],
    audit_drain: Callable[[dict[str, Any]], dict[str, Any]],
    fallback_queue: str,
    sqs: Any,
    s3: Any,
) -> None:
    # Given a record that went to the fallback queue while S3 was failing
    environment(**{c.ENV_AUDIT_BUCKET: MISSING_BUCKET})
    result = gateway(messages_event("messages_allowed", unique_user()))
    assert result["statusCode"] == 200
    messages = sqs.receive_message(
        QueueUrl=fallback_queue, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"]
    )["Messages"]
    key, queued = decode_fallback(messages[0]["Body"])

    # When the audit-drain Lambda gets that message from its event source
    response = audit_drain(sqs_event(messages, queue_arn(sqs, fallback_queue), aws.resources.region))

    # Then the record is in the real bucket under the key the gateway chose
    assert response == {"batchItemFailures": []}
    stored = s3.get_object(Bucket=aws.resources.audit_bucket, Key=key)["Body"].read()
    assert stored == queued
    assert json.loads(stored)["request_id"] == response_headers(result)[c.HEADER_REQUEST_ID]


def test_drain_writes_a_sample_fallback_event(
    aws: AwsStack, audit_drain: Callable[[dict[str, Any]], dict[str, Any]], s3: Any
) -> None:
    event = load_event("audit_drain", "fallback_record")
    _, body = decode_fallback(event["Records"][0]["body"])
    key = f"{c.AUDIT_RECORDS_PREFIX}dt=2025-08-14/hour=09/{unique_user()}.json"
    event["Records"][0]["body"] = encode_fallback(key, body)

    response = audit_drain(event)

    assert response == {"batchItemFailures": []}
    assert s3.get_object(Bucket=aws.resources.audit_bucket, Key=key)["Body"].read() == body


def test_undecodable_fallback_message_is_the_only_batch_failure(
    aws: AwsStack, audit_drain: Callable[[dict[str, Any]], dict[str, Any]], s3: Any
) -> None:
    # Given a batch with a good record and one whose envelope is corrupt
    event = load_event("audit_drain", "fallback_record")
    good = event["Records"][0]
    _, body = decode_fallback(good["body"])
    key = f"{c.AUDIT_RECORDS_PREFIX}dt=2025-08-14/hour=09/{unique_user()}.json"
    good["body"] = encode_fallback(key, body)
    not_gzip = base64.b64encode(b"not gzip").decode()
    corrupt = {**good, "messageId": "corrupt-" + unique_user(), "body": json.dumps({"key": key, "gzip_b64": not_gzip})}
    event["Records"].append(corrupt)

    # When the drain handles the batch
    response = audit_drain(event)

    # Then only the corrupt one is retried, and the good one is written
    assert response == {"batchItemFailures": [{"itemIdentifier": corrupt["messageId"]}]}
    assert s3.get_object(Bucket=aws.resources.audit_bucket, Key=key)["Body"].read() == body


def test_response_is_withheld_with_503_when_s3_and_the_fallback_queue_both_fail(
    aws: AwsStack,
    environment: Callable[..., None],
    gateway: Callable[[dict[str, Any]], dict[str, Any]],
    fake_claude: FakeAnthropic,
    s3: Any,
) -> None:
    # Given S3 and the fallback queue both failing
    missing_queue = aws.resources.audit_fallback_queue_url.rsplit("/", 1)[0] + "/queue-that-does-not-exist"
    environment(**{c.ENV_AUDIT_BUCKET: MISSING_BUCKET, c.ENV_AUDIT_FALLBACK_QUEUE_URL: missing_queue})
    fake_claude.text_responder = lambda _: "a completion that must not leave the gateway unrecorded"

    # When an ordinary request reaches Claude
    result = gateway(messages_event("messages_allowed", unique_user()))

    # Then the app gets 503 api_error and not Claude's answer
    assert result["statusCode"] == 503
    body = json.loads(result["body"])
    assert body["type"] == "error"
    assert body["error"]["type"] == "api_error"
    assert body["warden"]["request_id"] == response_headers(result)[c.HEADER_REQUEST_ID]
    assert "must not leave the gateway" not in result["body"]
    assert [r for r in fake_claude.requests if not r.body.get("tools")], "Claude was called"
