"""The optional Bedrock guardrail: created from config when enabled, applied only by the gateway, absent by default."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks
from warden import constants
from warden.config import GuardrailsConfig

from infra.constructs.guardrail import BLOCKED_MESSAGE, ScreeningGuardrail, policy_fingerprint
from tests.infrastructure.synth import (
    SKIP_BUNDLING,
    SynthesizedStack,
    actions_of,
    policy_statements,
    resources_of_type,
    synthesize,
)

GUARDRAIL = "AWS::Bedrock::Guardrail"
GUARDRAIL_VERSION = "AWS::Bedrock::GuardrailVersion"
GUARDRAIL_ENV = (
    constants.ENV_GUARDRAIL_ID,
    constants.ENV_GUARDRAIL_VERSION,
    constants.ENV_GUARDRAIL_TOPIC_CATEGORIES,
    constants.ENV_GUARDRAIL_IMAGES,
)
TOPIC = {
    "name": "Investment advice",
    "definition": "Recommending specific stocks, funds or other investments to buy or sell.",
    "examples": ["Which stock should I buy this week?"],
    "category": "fraud_abuse",
}


@pytest.fixture(scope="module")
def guardrail_synthesized(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedStack:
    """The stack with guardrails enabled (one denied topic, PROMPT_ATTACK off) and listed as a screener."""
    context = {
        **SKIP_BUNDLING,
        "warden.guardrails": json.dumps(
            {"enabled": True, "denied_topics": [TOPIC], "filters": {"HATE": "HIGH", "PROMPT_ATTACK": "NONE"}}
        ),
        "warden.screening.screeners": json.dumps(["fast", "moderator", "guardrails"]),
    }
    return synthesize(tmp_path_factory.mktemp("cdk-out-guardrail"), context)


def _gateway_env(synthesized: SynthesizedStack) -> dict[str, Any]:
    function = synthesized.resources[synthesized.logical_id(synthesized.stack.functions.gateway.function)]
    variables: dict[str, Any] = function["Properties"]["Environment"]["Variables"]
    return variables


def _statements(synthesized: SynthesizedStack, role: Any) -> list[dict[str, Any]]:
    return policy_statements(synthesized.resources, synthesized.logical_id(role))


def _only(resources: dict[str, Any], resource_type: str) -> tuple[str, dict[str, Any]]:
    found = resources_of_type(resources, resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
    return next(iter(found.items()))


def _construct_template(config: GuardrailsConfig) -> Template:
    """The construct alone, attached to a stand-in function (no full synth)."""
    stack = Stack(App(), "Guardrail")
    function = lambda_.Function(
        stack,
        "Gateway",
        runtime=lambda_.Runtime.PYTHON_3_13,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context): ..."),
    )
    ScreeningGuardrail(stack, "Guardrail", config=config).attach_to(function)
    return Template.from_stack(stack)


class TestEnabled:
    def test_the_guardrail_is_built_from_the_configuration(self, guardrail_synthesized: SynthesizedStack) -> None:
        _, guardrail = _only(guardrail_synthesized.resources, GUARDRAIL)
        properties = guardrail["Properties"]

        assert properties["BlockedInputMessaging"] == BLOCKED_MESSAGE
        assert properties["BlockedOutputsMessaging"] == BLOCKED_MESSAGE
        filters = {f["Type"]: f for f in properties["ContentPolicyConfig"]["FiltersConfig"]}
        # Configured HATE, defaults for the rest, and PROMPT_ATTACK switched off by NONE.
        assert set(filters) == {"HATE", "INSULTS", "SEXUAL", "VIOLENCE", "MISCONDUCT"}
        assert filters["HATE"]["InputStrength"] == "HIGH"
        assert filters["INSULTS"]["InputStrength"] == "MEDIUM"
        # Claude's answers (output screening) are held to the same strengths.
        assert all(f["OutputStrength"] == f["InputStrength"] for f in filters.values())
        # Text only, unless guardrails.screen_images (Bedrock's default modality is text)
        assert not any("InputModalities" in f or "OutputModalities" in f for f in filters.values())
        assert constants.ENV_GUARDRAIL_IMAGES not in _gateway_env(guardrail_synthesized)
        assert properties["TopicPolicyConfig"]["TopicsConfig"] == [
            {
                "Name": TOPIC["name"],
                "Definition": TOPIC["definition"],
                "Examples": TOPIC["examples"],
                "Type": "DENY",
            }
        ]

    def test_a_version_of_the_guardrail_is_published_with_the_policy_fingerprint(
        self, guardrail_synthesized: SynthesizedStack
    ) -> None:
        guardrail_id, _ = _only(guardrail_synthesized.resources, GUARDRAIL)
        _, version = _only(guardrail_synthesized.resources, GUARDRAIL_VERSION)

        assert version["Properties"]["GuardrailIdentifier"] == {"Fn::GetAtt": [guardrail_id, "GuardrailId"]}
        assert policy_fingerprint(guardrail_synthesized.config.guardrails) in version["Properties"]["Description"]

    def test_the_gateway_gets_the_guardrail_id_version_and_topic_categories(
        self, guardrail_synthesized: SynthesizedStack
    ) -> None:
        guardrail_id, _ = _only(guardrail_synthesized.resources, GUARDRAIL)
        version_id, _ = _only(guardrail_synthesized.resources, GUARDRAIL_VERSION)

        variables = _gateway_env(guardrail_synthesized)

        assert variables[constants.ENV_GUARDRAIL_ID] == {"Fn::GetAtt": [guardrail_id, "GuardrailId"]}
        assert variables[constants.ENV_GUARDRAIL_VERSION] == {"Fn::GetAtt": [version_id, "Version"]}
        assert json.loads(variables[constants.ENV_GUARDRAIL_TOPIC_CATEGORIES]) == {TOPIC["name"]: "fraud_abuse"}

    def test_the_gateway_may_apply_exactly_that_guardrail(self, guardrail_synthesized: SynthesizedStack) -> None:
        guardrail_id, _ = _only(guardrail_synthesized.resources, GUARDRAIL)

        statements = [
            s
            for s in _statements(guardrail_synthesized, guardrail_synthesized.stack.functions.gateway.role)
            if "bedrock:ApplyGuardrail" in actions_of([s])
        ]

        assert statements == [
            {
                "Action": "bedrock:ApplyGuardrail",
                "Effect": "Allow",
                "Resource": {"Fn::GetAtt": [guardrail_id, "GuardrailArn"]},
            }
        ]

    def test_no_other_function_may_apply_it_or_sees_it(self, guardrail_synthesized: SynthesizedStack) -> None:
        functions = guardrail_synthesized.stack.functions
        for other in (functions.authorizer, functions.review, functions.audit_drain):
            assert "bedrock:ApplyGuardrail" not in actions_of(_statements(guardrail_synthesized, other.role))
            variables = guardrail_synthesized.resources[guardrail_synthesized.logical_id(other.function)]["Properties"][
                "Environment"
            ]["Variables"]
            assert not set(GUARDRAIL_ENV) & set(variables)

    def test_aws_solutions_reports_nothing_unacknowledged(self, guardrail_synthesized: SynthesizedStack) -> None:
        report = AwsSolutionsChecks().validate_scope(guardrail_synthesized.app)

        assert [v.rule_name for v in report.violations] == []


class TestDisabledByDefault:
    def test_no_guardrail_resources(self, synthesized: SynthesizedStack) -> None:
        assert resources_of_type(synthesized.resources, GUARDRAIL) == {}
        assert resources_of_type(synthesized.resources, GUARDRAIL_VERSION) == {}
        assert synthesized.stack.guardrail is None

    def test_no_guardrail_permission_or_environment(self, synthesized: SynthesizedStack) -> None:
        assert "bedrock:ApplyGuardrail" not in actions_of(
            _statements(synthesized, synthesized.stack.functions.gateway.role)
        )
        assert not set(GUARDRAIL_ENV) & set(_gateway_env(synthesized))


class TestExistingGuardrail:
    """Built on its own (no full synth): the construct with an existing guardrail id creates nothing."""

    @staticmethod
    def _template(guardrail_id: str) -> Template:
        return _construct_template(GuardrailsConfig(enabled=True, guardrail_id=guardrail_id, guardrail_version="7"))

    def test_an_existing_guardrail_id_is_used_not_created(self) -> None:
        template = self._template("yympzo398ipq")

        template.resource_count_is(GUARDRAIL, 0)
        template.resource_count_is(GUARDRAIL_VERSION, 0)
        variables = template.find_resources("AWS::Lambda::Function")
        (function,) = variables.values()
        env = function["Properties"]["Environment"]["Variables"]
        assert env[constants.ENV_GUARDRAIL_ID] == "yympzo398ipq"
        assert env[constants.ENV_GUARDRAIL_VERSION] == "7"
        assert constants.ENV_GUARDRAIL_TOPIC_CATEGORIES not in env

    def test_the_permission_is_scoped_to_the_existing_guardrail_arn(self) -> None:
        template = self._template("yympzo398ipq")

        (policy,) = template.find_resources("AWS::IAM::Policy").values()
        (statement,) = [
            s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Action"] == "bedrock:ApplyGuardrail"
        ]
        assert "guardrail/yympzo398ipq" in json.dumps(statement["Resource"])

    def test_an_existing_guardrail_arn_is_used_as_given(self) -> None:
        arn = "arn:aws:bedrock:eu-west-1:123456789012:guardrail/yympzo398ipq"

        (policy,) = self._template(arn).find_resources("AWS::IAM::Policy").values()

        resources = [s["Resource"] for s in policy["Properties"]["PolicyDocument"]["Statement"]]
        assert arn in resources


class TestImages:
    """Built on its own: `guardrails.screen_images` gives the created guardrail's filters the image modality on
    the input side, and tells the gateway to send images."""

    @staticmethod
    def _template(**config: Any) -> Template:
        return _construct_template(GuardrailsConfig(enabled=True, **config))

    def test_the_filters_read_images_in_the_prompt_and_text_in_the_answer(self) -> None:
        (guardrail,) = self._template(screen_images=True).find_resources(GUARDRAIL).values()

        filters = guardrail["Properties"]["ContentPolicyConfig"]["FiltersConfig"]
        assert {f["Type"] for f in filters} == {"HATE", "INSULTS", "SEXUAL", "VIOLENCE", "MISCONDUCT", "PROMPT_ATTACK"}
        assert all(f["InputModalities"] == ["TEXT", "IMAGE"] for f in filters)
        assert all(f["OutputModalities"] == ["TEXT"] for f in filters)

    def test_the_gateway_is_told_to_send_images(self) -> None:
        (function,) = self._template(screen_images=True).find_resources("AWS::Lambda::Function").values()

        assert function["Properties"]["Environment"]["Variables"][constants.ENV_GUARDRAIL_IMAGES] == "true"

    def test_switching_images_on_publishes_a_new_version(self) -> None:
        assert policy_fingerprint(GuardrailsConfig(enabled=True, screen_images=True)) != policy_fingerprint(
            GuardrailsConfig(enabled=True)
        )

    def test_an_existing_guardrail_with_images_is_only_told_to_the_gateway(self) -> None:
        template = self._template(screen_images=True, guardrail_id="yympzo398ipq", guardrail_version="7")

        template.resource_count_is(GUARDRAIL, 0)
        (function,) = template.find_resources("AWS::Lambda::Function").values()
        assert function["Properties"]["Environment"]["Variables"][constants.ENV_GUARDRAIL_IMAGES] == "true"
