"""The optional Amazon Bedrock guardrail the gateway screens with (`guardrails.enabled`).

With no `guardrails.guardrail_id` the stack creates the guardrail from the configuration (content filters, on
images too with `guardrails.screen_images`, and denied topics) and publishes a numbered version of it;
otherwise it uses the existing guardrail and version. Either way the gateway gets the id, version and topic
categories (and whether to send images) as environment variables and `bedrock:ApplyGuardrail` on exactly that
guardrail.
"""

from __future__ import annotations

import hashlib
import json

from aws_cdk import Stack
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct
from warden import constants
from warden.config import GuardrailFilter, GuardrailsConfig, GuardrailStrength

# The gateway never shows the guardrail's messages (Warden answers with its own error), but CloudFormation
# requires them; neutral, in case the guardrail is ever attached to a model invocation directly.
BLOCKED_MESSAGE = "This request cannot be processed."
APPLY_GUARDRAIL_ACTION = "bedrock:ApplyGuardrail"
_ARN_PREFIX = "arn:"
TEXT = "TEXT"
IMAGE = "IMAGE"


def _content_policy(config: GuardrailsConfig) -> bedrock.CfnGuardrail.ContentPolicyConfigProperty | None:
    # With `screen_images`, the filters read the end user's images as well as the text; Claude's answers are text.
    input_modalities = [TEXT, IMAGE] if config.screen_images else None
    filters = [
        bedrock.CfnGuardrail.ContentFilterConfigProperty(
            type=filter_type.value,
            input_strength=strength.value,
            input_modalities=input_modalities,
            output_modalities=[TEXT] if config.screen_images else None,
            # Output screening sends Claude's answers with source OUTPUT: the same strength applies to them.
            # Prompt attacks exist only in input, and Bedrock requires NONE on that filter's output side.
            output_strength=GuardrailStrength.NONE.value
            if filter_type is GuardrailFilter.PROMPT_ATTACK
            else strength.value,
        )
        for filter_type, strength in sorted(config.filters.items())
        if strength is not GuardrailStrength.NONE
    ]
    return bedrock.CfnGuardrail.ContentPolicyConfigProperty(filters_config=filters) if filters else None


def _topic_policy(config: GuardrailsConfig) -> bedrock.CfnGuardrail.TopicPolicyConfigProperty | None:
    topics = [
        bedrock.CfnGuardrail.TopicConfigProperty(
            name=topic.name,
            definition=topic.definition or "",
            examples=list(topic.examples) or None,
            type="DENY",
        )
        for topic in config.denied_topics
    ]
    return bedrock.CfnGuardrail.TopicPolicyConfigProperty(topics_config=topics) if topics else None


def policy_fingerprint(config: GuardrailsConfig) -> str:
    """Short hash of what the guardrail is built from: a change replaces the published version."""
    document = config.model_dump(mode="json", include={"filters", "denied_topics", "screen_images"})
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()[:12]


class ScreeningGuardrail(Construct):
    """The guardrail (created here, or an existing one) and its binding to the gateway function."""

    def __init__(self, scope: Construct, construct_id: str, *, config: GuardrailsConfig) -> None:
        super().__init__(scope, construct_id)
        if not config.enabled:
            raise ValueError("ScreeningGuardrail is only built when guardrails.enabled is true")
        self._config = config
        self.guardrail: bedrock.CfnGuardrail | None = None
        self.version: bedrock.CfnGuardrailVersion | None = None
        if config.guardrail_id is not None and config.guardrail_version is not None:
            self.guardrail_id = config.guardrail_id
            self.guardrail_version = config.guardrail_version
            self.guardrail_arn = self._existing_arn(config.guardrail_id)
        else:
            self.guardrail, self.version = self._build_guardrail()
            self.guardrail_id = self.guardrail.attr_guardrail_id
            self.guardrail_version = self.version.attr_version
            self.guardrail_arn = self.guardrail.attr_guardrail_arn

    def _existing_arn(self, guardrail_id: str) -> str:
        if guardrail_id.startswith(_ARN_PREFIX):
            return guardrail_id
        return Stack.of(self).format_arn(service="bedrock", resource="guardrail", resource_name=guardrail_id)

    def _build_guardrail(self) -> tuple[bedrock.CfnGuardrail, bedrock.CfnGuardrailVersion]:
        stack = Stack.of(self)
        guardrail = bedrock.CfnGuardrail(
            self,
            "Guardrail",
            name=f"{stack.stack_name}-screening",
            description="Warden: screens end users' prompts (ApplyGuardrail, input only)",
            blocked_input_messaging=BLOCKED_MESSAGE,
            blocked_outputs_messaging=BLOCKED_MESSAGE,
            content_policy_config=_content_policy(self._config),
            topic_policy_config=_topic_policy(self._config),
        )
        # A version is an immutable snapshot; its description carries the policy fingerprint so that changing
        # the policy replaces the version (the gateway then screens with the new one).
        version = bedrock.CfnGuardrailVersion(
            self,
            "Version",
            guardrail_identifier=guardrail.attr_guardrail_id,
            description=f"Warden screening policy {policy_fingerprint(self._config)}",
        )
        return guardrail, version

    @property
    def environment(self) -> dict[str, str]:
        environment = {
            constants.ENV_GUARDRAIL_ID: self.guardrail_id,
            constants.ENV_GUARDRAIL_VERSION: self.guardrail_version,
        }
        topic_categories = self._config.topic_categories()
        if topic_categories:
            environment[constants.ENV_GUARDRAIL_TOPIC_CATEGORIES] = json.dumps(topic_categories, sort_keys=True)
        if self._config.screen_images:
            environment[constants.ENV_GUARDRAIL_IMAGES] = "true"
        return environment

    def attach_to(self, function: lambda_.Function) -> None:
        """Give `function` the guardrail's coordinates and permission to apply it (and nothing else of Bedrock's)."""
        for name, value in self.environment.items():
            function.add_environment(name, value)
        function.add_to_role_policy(
            iam.PolicyStatement(actions=[APPLY_GUARDRAIL_ACTION], resources=[self.guardrail_arn])
        )
