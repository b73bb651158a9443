"""What operators and the CLI rely on: stack outputs, the two secrets, and the alarms."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Template
from warden import constants

from infra.constructs.secrets import USER_HASH_KEY_LENGTH
from tests.infrastructure.synth import SynthesizedStack, assert_topic_is_tls_only, resources_of_type

OUTPUTS = {
    constants.OUTPUT_API_URL: lambda s: s.stack.api.rest_api,
    constants.OUTPUT_AUDIT_BUCKET: lambda s: s.stack.audit.bucket,
    constants.OUTPUT_TENANTS_TABLE: lambda s: s.stack.user_state.tenants_table,
    constants.OUTPUT_USERS_TABLE: lambda s: s.stack.user_state.users_table,
    constants.OUTPUT_CASES_TABLE: lambda s: s.stack.review.cases_table,
    constants.OUTPUT_REVIEW_QUEUE_URL: lambda s: s.stack.review.queue,
    constants.OUTPUT_AUDIT_FALLBACK_QUEUE_URL: lambda s: s.stack.audit.fallback_queue,
    constants.OUTPUT_USAGE_PLAN_ID: lambda s: s.stack.api.usage_plan,
    constants.OUTPUT_ANTHROPIC_SECRET_ARN: lambda s: s.stack.secrets.anthropic_api_key_secret,
}


@pytest.mark.parametrize("output_id", sorted(OUTPUTS))
def test_output_exports_the_resource_the_cli_looks_for(synthesized: SynthesizedStack, output_id: str) -> None:
    outputs = synthesized.template.to_json()["Outputs"]
    resource_id = synthesized.logical_id(OUTPUTS[output_id](synthesized))

    assert output_id in outputs
    assert resource_id in str(outputs[output_id]["Value"])


def test_anthropic_secret_output_says_how_to_set_the_key(synthesized: SynthesizedStack) -> None:
    description = synthesized.template.to_json()["Outputs"][constants.OUTPUT_ANTHROPIC_SECRET_ARN]["Description"]

    assert "aws secretsmanager put-secret-value" in description


def test_user_hash_key_is_generated_by_secrets_manager_and_retained(synthesized: SynthesizedStack) -> None:
    secret = synthesized.resources[synthesized.logical_id(synthesized.stack.secrets.user_hash_secret)]

    assert secret["Properties"]["GenerateSecretString"] == {
        "PasswordLength": USER_HASH_KEY_LENGTH,
        "ExcludePunctuation": True,
    }
    assert secret["DeletionPolicy"] == "Retain"


def test_anthropic_secret_starts_as_a_placeholder(synthesized: SynthesizedStack) -> None:
    secret = synthesized.resources[synthesized.logical_id(synthesized.stack.secrets.anthropic_api_key_secret)]

    assert secret["Properties"]["SecretString"].startswith("REPLACE_ME")
    assert "GenerateSecretString" not in secret["Properties"]


def test_alarm_topic_is_encrypted_and_tls_only(synthesized: SynthesizedStack, template: Template) -> None:
    topic_id = synthesized.logical_id(synthesized.stack.monitoring.alarm_topic)

    assert "KmsMasterKeyId" in synthesized.resources[topic_id]["Properties"]
    assert_topic_is_tls_only(template, topic_id)


@pytest.mark.parametrize("dlq", ["review", "audit_fallback"])
def test_any_message_in_a_dlq_raises_an_alarm(synthesized: SynthesizedStack, dlq: str) -> None:
    queue = {"review": synthesized.stack.review.dlq, "audit_fallback": synthesized.stack.audit.fallback_dlq}[dlq]
    topic_ref = {"Ref": synthesized.logical_id(synthesized.stack.monitoring.alarm_topic)}

    alarms = [
        alarm["Properties"]
        for alarm in resources_of_type(synthesized.resources, "AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("Dimensions")
        == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [synthesized.logical_id(queue), "QueueName"]}}]
    ]

    assert len(alarms) == 1
    assert alarms[0]["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarms[0]["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarms[0]["Threshold"] == 0
    assert alarms[0]["AlarmActions"] == [topic_ref]


def test_gateway_errors_raise_an_alarm(synthesized: SynthesizedStack, template: Template) -> None:
    gateway_ref: dict[str, Any] = {"Ref": synthesized.logical_id(synthesized.stack.functions.gateway.function)}

    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": "AWS/Lambda",
            "MetricName": "Errors",
            "Dimensions": [{"Name": "FunctionName", "Value": gateway_ref}],
            "Threshold": 0,
            "AlarmActions": [{"Ref": synthesized.logical_id(synthesized.stack.monitoring.alarm_topic)}],
        },
    )
