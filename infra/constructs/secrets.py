"""Secrets the gateway reads: the user-hash HMAC key and the Anthropic API key.

The Anthropic API key secret is created with a placeholder. Put the real key in after the first deploy:

    aws secretsmanager put-secret-value \\
        --secret-id "$(aws cloudformation describe-stacks --stack-name Warden \\
            --query "Stacks[0].Outputs[?OutputKey=='AnthropicApiKeySecretArn'].OutputValue" --output text)" \\
        --secret-string "$ANTHROPIC_API_KEY"
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy, SecretValue
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.nag import acknowledge

USER_HASH_KEY_LENGTH = 64
ANTHROPIC_KEY_PLACEHOLDER = "REPLACE_ME: aws secretsmanager put-secret-value --secret-string <Anthropic API key>"
PUT_ANTHROPIC_KEY_COMMAND = (
    'aws secretsmanager put-secret-value --secret-id <this ARN> --secret-string "$ANTHROPIC_API_KEY"'
)


class Secrets(Construct):
    """The HMAC key behind every user hash, and the Anthropic API key (used when provider is anthropic)."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.user_hash_secret = self._build_user_hash_secret()
        self.anthropic_api_key_secret = self._build_anthropic_api_key_secret()

    def _build_user_hash_secret(self) -> secretsmanager.Secret:
        secret = secretsmanager.Secret(
            self,
            "UserHashKey",
            description="Warden: HMAC-SHA256 key that turns (tenant, end-user id) into the stored user hash",
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=USER_HASH_KEY_LENGTH,
                exclude_punctuation=True,
            ),
            # Losing the key severs every stored user hash from the user it stands for.
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            secret,
            "AwsSolutions-SMG4",
            "The user hash is each end user's only stable identifier across audit records, strikes and review cases "
            "(and the id sent to Anthropic); rotating the key would silently split every user's history, so it is "
            "rotated only as a deliberate, planned migration.",
        )
        return secret

    def _build_anthropic_api_key_secret(self) -> secretsmanager.Secret:
        secret = secretsmanager.Secret(
            self,
            "AnthropicApiKey",
            description=f"Warden: Anthropic API key for the gateway. Set it with: {PUT_ANTHROPIC_KEY_COMMAND}",
            # Not a secret: a placeholder the operator replaces after the first deploy.
            secret_string_value=SecretValue.unsafe_plain_text(ANTHROPIC_KEY_PLACEHOLDER),
        )
        acknowledge(
            secret,
            "AwsSolutions-SMG4",
            "Anthropic API keys are issued in the Anthropic Console, which Secrets Manager rotation cannot call; the "
            "operator rotates the key there and stores the new one with put-secret-value.",
        )
        return secret
