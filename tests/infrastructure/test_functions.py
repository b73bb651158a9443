"""Each function runs arm64 / Python 3.13 with its own least-privilege role."""

from __future__ import annotations

import json
from typing import Any

import pytest
from warden import constants
from warden.config import RuntimeConfig

from infra.constructs.functions import (
    AUDIT_DRAIN,
    AUTHORIZER,
    GATEWAY,
    REVIEW,
    REVIEWER,
    FunctionSpec,
    WardenFunction,
)
from tests.infrastructure.synth import SynthesizedStack, actions_of, policy_statements, resources_of_type

SPECS = {
    "gateway": GATEWAY,
    "authorizer": AUTHORIZER,
    "review": REVIEW,
    "audit_drain": AUDIT_DRAIN,
    "reviewer": REVIEWER,
}


def _function(synthesized: SynthesizedStack, name: str) -> WardenFunction:
    functions = synthesized.stack.functions
    return {
        "gateway": functions.gateway,
        "authorizer": functions.authorizer,
        "review": functions.review,
        "audit_drain": functions.audit_drain,
        "reviewer": functions.reviewer,
    }[name]


def _properties(synthesized: SynthesizedStack, name: str) -> dict[str, Any]:
    properties: dict[str, Any] = synthesized.resources[synthesized.logical_id(_function(synthesized, name).function)][
        "Properties"
    ]
    return properties


def _statements(synthesized: SynthesizedStack, name: str) -> list[dict[str, Any]]:
    return policy_statements(synthesized.resources, synthesized.logical_id(_function(synthesized, name).role))


def _mentions(statements: list[dict[str, Any]], logical_id: str) -> bool:
    return logical_id in json.dumps([statement["Resource"] for statement in statements])


@pytest.mark.parametrize("name", sorted(SPECS))
def test_function_runtime_and_sizing(synthesized: SynthesizedStack, name: str) -> None:
    spec: FunctionSpec = SPECS[name]

    properties = _properties(synthesized, name)

    assert properties["Architectures"] == ["arm64"]
    assert properties["Runtime"] == "python3.13"
    assert properties["Handler"] == f"{name}.handler.lambda_handler"
    assert properties["MemorySize"] == spec.memory_mb
    assert properties["Timeout"] == spec.timeout.to_seconds()
    assert properties["TracingConfig"] == {"Mode": "Active"}


@pytest.mark.parametrize("name", sorted(SPECS))
def test_function_gets_powertools_and_the_validated_runtime_config(synthesized: SynthesizedStack, name: str) -> None:
    variables = _properties(synthesized, name)["Environment"]["Variables"]

    assert variables["POWERTOOLS_SERVICE_NAME"] == constants.SERVICE_NAME
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == constants.METRICS_NAMESPACE
    assert variables["LOG_LEVEL"] == synthesized.config.log_level
    assert RuntimeConfig.model_validate_json(variables[constants.ENV_CONFIG]) == synthesized.config.runtime()


@pytest.mark.parametrize("name", sorted(SPECS))
def test_function_logs_to_its_own_log_group_with_retention(synthesized: SynthesizedStack, name: str) -> None:
    function = _function(synthesized, name)
    log_group_id = synthesized.logical_id(function.log_group)

    assert _properties(synthesized, name)["LoggingConfig"] == {"LogGroup": {"Ref": log_group_id}}
    assert synthesized.resources[log_group_id]["Properties"]["RetentionInDays"] > 0
    assert {
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Effect": "Allow",
        "Resource": {"Fn::GetAtt": [log_group_id, "Arn"]},
    } in _statements(synthesized, name)


def test_every_function_has_its_own_role_without_managed_policies(synthesized: SynthesizedStack) -> None:
    roles = {name: synthesized.logical_id(_function(synthesized, name).role) for name in SPECS}

    assert len(set(roles.values())) == len(SPECS)
    for name, role_id in roles.items():
        assert _properties(synthesized, name)["Role"] == {"Fn::GetAtt": [role_id, "Arn"]}
    for role in resources_of_type(synthesized.resources, "AWS::IAM::Role").values():
        assert "ManagedPolicyArns" not in role["Properties"]


def test_gateway_environment_names_every_resource_it_uses(synthesized: SynthesizedStack) -> None:
    variables = _properties(synthesized, "gateway")["Environment"]["Variables"]

    assert set(variables) >= {
        constants.ENV_AUDIT_BUCKET,
        constants.ENV_AUDIT_FALLBACK_QUEUE_URL,
        constants.ENV_USERS_TABLE,
        constants.ENV_REVIEW_QUEUE_URL,
        constants.ENV_USER_HASH_SECRET_ARN,
        constants.ENV_ANTHROPIC_SECRET_ARN,
    }


def test_gateway_can_use_its_resources(synthesized: SynthesizedStack) -> None:
    stack = synthesized.stack
    statements = _statements(synthesized, "gateway")

    for construct in (
        stack.user_state.users_table,
        stack.audit.bucket,
        stack.audit.key,
        stack.review.queue,
        stack.audit.fallback_queue,
        stack.secrets.user_hash_secret,
        stack.secrets.anthropic_api_key_secret,
    ):
        assert _mentions(statements, synthesized.logical_id(construct)), construct.node.path
    assert {"dynamodb:PutItem", "dynamodb:UpdateItem", "s3:PutObject", "sqs:SendMessage"} <= actions_of(statements)
    assert "secretsmanager:GetSecretValue" in actions_of(statements)


def test_gateway_cannot_touch_review_cases_tenants_or_bedrock(synthesized: SynthesizedStack) -> None:
    stack = synthesized.stack
    statements = _statements(synthesized, "gateway")

    for construct in (stack.review.cases_table, stack.review.idempotency_table, stack.user_state.tenants_table):
        assert not _mentions(statements, synthesized.logical_id(construct)), construct.node.path
    assert not any(action.startswith("bedrock:") for action in actions_of(statements))
    assert not {"s3:GetObject", "s3:DeleteObject"} & actions_of(statements)


def test_audit_writes_are_limited_to_the_records_prefix(synthesized: SynthesizedStack) -> None:
    bucket_id = synthesized.logical_id(synthesized.stack.audit.bucket)
    records = {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, f"/{constants.AUDIT_RECORDS_PREFIX}*"]]}

    for name in ("gateway", "audit_drain"):
        s3_statements = [s for s in _statements(synthesized, name) if "s3:PutObject" in s["Action"]]
        assert [s["Resource"] for s in s3_statements] == [records]


def test_authorizer_only_reads_the_tenants_table(synthesized: SynthesizedStack) -> None:
    tenants_id = synthesized.logical_id(synthesized.stack.user_state.tenants_table)
    statements = _statements(synthesized, "authorizer")

    data_statements = [s for s in statements if "dynamodb:" in json.dumps(s["Action"])]
    assert [s["Resource"] for s in data_statements] == [{"Fn::GetAtt": [tenants_id, "Arn"]}]
    # Only GetItem by key hash: no writes, no Query/Scan, and not the tenant-id index.
    assert {a for a in actions_of(statements) if a.startswith("dynamodb:")} == {"dynamodb:GetItem"}
    assert _properties(synthesized, "authorizer")["Environment"]["Variables"][
        constants.ENV_AUTHORIZER_CACHE_SECONDS
    ] == str(synthesized.config.authorizer_cache_seconds)


def test_review_function_has_no_secrets_no_bedrock_no_audit_bucket(synthesized: SynthesizedStack) -> None:
    stack = synthesized.stack
    statements = _statements(synthesized, "review")
    actions = actions_of(statements)

    assert not any(action.startswith(("secretsmanager:", "bedrock:", "s3:")) for action in actions)
    for construct in (stack.review.cases_table, stack.review.idempotency_table, stack.review.queue):
        assert _mentions(statements, synthesized.logical_id(construct)), construct.node.path
    assert {"dynamodb:PutItem", "dynamodb:Query", "sqs:ReceiveMessage", "sqs:DeleteMessage"} <= actions
    assert not _mentions(statements, synthesized.logical_id(stack.user_state.users_table))


def test_audit_drain_only_moves_records_from_the_fallback_queue(synthesized: SynthesizedStack) -> None:
    stack = synthesized.stack
    statements = _statements(synthesized, "audit_drain")
    actions = actions_of(statements)

    assert {"s3:PutObject", "sqs:ReceiveMessage", "kms:Decrypt"} <= actions
    assert not any(action.startswith(("dynamodb:", "secretsmanager:", "bedrock:")) for action in actions)
    assert not _mentions(statements, synthesized.logical_id(stack.review.queue))


class TestBedrockProvider:
    """With provider bedrock the gateway may invoke exactly the mapped models, and no Anthropic key."""

    def test_gateway_invokes_exactly_the_mapped_inference_profiles(self, bedrock_synthesized: SynthesizedStack) -> None:
        profiles = sorted(set(bedrock_synthesized.config.models.bedrock_model_map.values()))
        statements = [
            s for s in _statements(bedrock_synthesized, "gateway") if str(s["Action"]).startswith("['bedrock:")
        ]

        direct = next(s for s in statements if "Condition" not in s)
        routed = next(s for s in statements if "Condition" in s)
        for statement in (direct, routed):
            assert statement["Action"] == ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
        direct_arns = json.dumps(direct["Resource"])
        assert all(f"inference-profile/{profile}" in direct_arns for profile in profiles)
        assert direct_arns.count("inference-profile/") == len(profiles)
        assert "foundation-model" not in direct_arns
        assert routed["Condition"]["StringEquals"]["bedrock:InferenceProfileArn"] == direct["Resource"]
        routed_arns = json.dumps(routed["Resource"])
        for profile in profiles:
            assert f"foundation-model/{profile.removeprefix('global.')}" in routed_arns

    def test_gateway_cannot_read_the_anthropic_key(self, bedrock_synthesized: SynthesizedStack) -> None:
        secret_id = bedrock_synthesized.logical_id(bedrock_synthesized.stack.secrets.anthropic_api_key_secret)

        assert not _mentions(_statements(bedrock_synthesized, "gateway"), secret_id)
        assert (
            constants.ENV_ANTHROPIC_SECRET_ARN
            not in _properties(bedrock_synthesized, "gateway")["Environment"]["Variables"]
        )

    def test_review_function_still_cannot_call_claude(self, bedrock_synthesized: SynthesizedStack) -> None:
        actions = actions_of(_statements(bedrock_synthesized, "review"))

        assert not any(action.startswith(("bedrock:", "secretsmanager:")) for action in actions)


def test_anthropic_provider_grants_no_bedrock_anywhere(synthesized: SynthesizedStack) -> None:
    policies = resources_of_type(synthesized.resources, "AWS::IAM::Policy").values()
    every_action = actions_of([s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]])

    assert not any(action.startswith("bedrock:") for action in every_action)
