"""Review items flow queue → review function; failures are retried per message and then parked in the DLQ."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template
from warden.constants import (
    CASES_STATUS_INDEX,
    CASES_STATUS_INDEX_SK,
    CASES_TENANT_INDEX,
    CASES_USER_INDEX,
    ENV_REVIEW_PRIORITY_TOPIC_ARN,
    REVIEW_MAX_RECEIVE_COUNT,
)

from infra.config import CONTEXT_KEY
from infra.constructs.functions import AUDIT_DRAIN, REVIEW, VISIBILITY_TIMEOUT_FACTOR, FunctionSpec
from tests.infrastructure.synth import (
    SKIP_BUNDLING,
    SynthesizedStack,
    actions_of,
    assert_topic_is_tls_only,
    policy_statements,
    resources_of_type,
    synthesize,
)


def test_review_queue_redrives_to_its_dlq(synthesized: SynthesizedStack) -> None:
    review = synthesized.stack.review

    queue = synthesized.resources[synthesized.logical_id(review.queue)]["Properties"]

    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [synthesized.logical_id(review.dlq), "Arn"]},
        "maxReceiveCount": REVIEW_MAX_RECEIVE_COUNT,
    }
    assert queue["SqsManagedSseEnabled"] is True


@pytest.mark.parametrize(("queue_name", "consumer"), [("review", REVIEW), ("audit_fallback", AUDIT_DRAIN)])
def test_visibility_timeout_covers_six_consumer_timeouts(
    synthesized: SynthesizedStack, queue_name: str, consumer: FunctionSpec
) -> None:
    stack = synthesized.stack
    queue = {"review": stack.review.queue, "audit_fallback": stack.audit.fallback_queue}[queue_name]
    function = {"review": stack.functions.review, "audit_fallback": stack.functions.audit_drain}[queue_name]

    visibility = synthesized.resources[synthesized.logical_id(queue)]["Properties"]["VisibilityTimeout"]
    timeout = synthesized.resources[synthesized.logical_id(function.function)]["Properties"]["Timeout"]

    assert timeout == consumer.timeout.to_seconds()
    assert visibility >= VISIBILITY_TIMEOUT_FACTOR * timeout


@pytest.mark.parametrize("queue_name", ["review", "audit_fallback"])
def test_queue_consumers_report_batch_item_failures(
    synthesized: SynthesizedStack, template: Template, queue_name: str
) -> None:
    stack = synthesized.stack
    queue = {"review": stack.review.queue, "audit_fallback": stack.audit.fallback_queue}[queue_name]
    function = {"review": stack.functions.review, "audit_fallback": stack.functions.audit_drain}[queue_name]

    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "EventSourceArn": {"Fn::GetAtt": [synthesized.logical_id(queue), "Arn"]},
            "FunctionName": {"Ref": synthesized.logical_id(function.function)},
            "BatchSize": 10,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
        },
    )


def test_only_the_two_queues_have_consumers(template: Template) -> None:
    template.resource_count_is("AWS::Lambda::EventSourceMapping", 2)


def _review_statements(synthesized: SynthesizedStack) -> list[dict[str, Any]]:
    return policy_statements(synthesized.resources, synthesized.logical_id(synthesized.stack.functions.review.role))


@pytest.mark.parametrize(
    ("index_name", "partition_key"),
    [(CASES_STATUS_INDEX, "status"), (CASES_TENANT_INDEX, "tenant_id"), (CASES_USER_INDEX, "user_hash")],
)
def test_cases_are_listed_by_status_tenant_and_user_in_priority_order(
    synthesized: SynthesizedStack, index_name: str, partition_key: str
) -> None:
    table = synthesized.resources[synthesized.logical_id(synthesized.stack.review.cases_table)]["Properties"]
    indexes = {index["IndexName"]: index for index in table["GlobalSecondaryIndexes"]}

    assert indexes[index_name]["KeySchema"] == [
        {"AttributeName": partition_key, "KeyType": "HASH"},
        {"AttributeName": CASES_STATUS_INDEX_SK, "KeyType": "RANGE"},
    ]
    assert indexes[index_name]["Projection"] == {"ProjectionType": "ALL"}


def test_priority_topic_is_encrypted_with_a_rotated_key_and_tls_only(
    synthesized: SynthesizedStack, template: Template
) -> None:
    topic = synthesized.stack.review.priority_topic
    topic_id = synthesized.logical_id(topic)
    assert topic.master_key is not None
    key_id = synthesized.logical_id(topic.master_key)

    assert synthesized.resources[topic_id]["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert synthesized.resources[key_id]["Properties"]["EnableKeyRotation"] is True
    assert_topic_is_tls_only(template, topic_id)


def test_review_function_may_only_publish_to_the_priority_topic(synthesized: SynthesizedStack) -> None:
    review = synthesized.stack.review
    topic_ref = {"Ref": synthesized.logical_id(review.priority_topic)}
    assert review.priority_topic.master_key is not None
    key_arn = {"Fn::GetAtt": [synthesized.logical_id(review.priority_topic.master_key), "Arn"]}
    statements = _review_statements(synthesized)

    sns_statements = [s for s in statements if any(a.startswith("sns:") for a in actions_of([s]))]
    kms_statements = [s for s in statements if any(a.startswith("kms:") for a in actions_of([s]))]

    assert [(actions_of([s]), s["Resource"]) for s in sns_statements] == [({"sns:Publish"}, topic_ref)]
    assert [s["Resource"] for s in kms_statements] == [key_arn]
    assert actions_of(kms_statements) <= {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*"}
    environment = synthesized.resources[synthesized.logical_id(synthesized.stack.functions.review.function)][
        "Properties"
    ]["Environment"]["Variables"]
    assert environment[ENV_REVIEW_PRIORITY_TOPIC_ARN] == topic_ref


def test_no_email_subscriptions_by_default(template: Template) -> None:
    template.resource_count_is("AWS::SNS::Subscription", 0)


def test_each_configured_email_is_subscribed_to_the_priority_topic(tmp_path: Path) -> None:
    # Given two reviewers' addresses in review.notify_emails
    emails = ["oncall@example.com", "safety-lead@example.org"]

    # When the stack is synthesised (cdk-nag included)
    synthesized = synthesize(tmp_path, {**SKIP_BUNDLING, f"{CONTEXT_KEY}.review.notify_emails": json.dumps(emails)})

    # Then each gets one email subscription to the priority topic, and nothing else is subscribed
    topic_ref = {"Ref": synthesized.logical_id(synthesized.stack.review.priority_topic)}
    subscriptions = resources_of_type(synthesized.resources, "AWS::SNS::Subscription").values()
    assert sorted((s["Properties"]["Endpoint"], s["Properties"]["Protocol"]) for s in subscriptions) == [
        (email, "email") for email in emails
    ]
    assert all(s["Properties"]["TopicArn"] == topic_ref for s in subscriptions)
