"""Review items flow queue → review function; failures are retried per message and then parked in the DLQ."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Template
from warden.constants import REVIEW_MAX_RECEIVE_COUNT

from infra.constructs.functions import AUDIT_DRAIN, REVIEW, VISIBILITY_TIMEOUT_FACTOR, FunctionSpec
from tests.infrastructure.synth import SynthesizedStack


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
