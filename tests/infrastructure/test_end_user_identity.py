"""End-user identity options: the Cognito pool the stack can create, and the issuers the authorizer is given."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cdk_nag import AwsSolutionsChecks
from warden import constants
from warden.config import COGNITO_ISSUER_NAME, InvalidConfigurationError

from infra.app import build_app
from tests.infrastructure.synth import SKIP_BUNDLING, SynthesizedStack, resources_of_type, synthesize

EXTERNAL_ISSUER = "https://login.example.com/realms/app"


def _end_user(resources: dict[str, Any], resource_type: str) -> dict[str, Any]:
    """Resources of a type, without the reviewers' pool and client (tests/infrastructure/test_review_api.py)."""
    return {
        logical_id: resource
        for logical_id, resource in resources_of_type(resources, resource_type).items()
        if not logical_id.startswith("ReviewerPool")
    }


@pytest.fixture(scope="module")
def cognito_synthesized(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedStack:
    identity = {
        "cognito": {"create": True, "mfa": "optional"},
        "oidc": [{"issuer": EXTERNAL_ISSUER, "audience": "mobile-app", "name": "keycloak"}],
    }
    context = {**SKIP_BUNDLING, "warden.identity": json.dumps(identity)}
    return synthesize(tmp_path_factory.mktemp("cdk-out-cognito"), context)


def _authorizer_identity(synthesized: SynthesizedStack) -> Any:
    function = synthesized.stack.functions.authorizer.function
    variables = synthesized.resources[synthesized.logical_id(function)]["Properties"]["Environment"]["Variables"]
    return variables[constants.ENV_IDENTITY]


def test_default_stack_creates_no_user_pool_and_trusts_no_issuer(synthesized: SynthesizedStack) -> None:
    assert _end_user(synthesized.resources, "AWS::Cognito::UserPool") == {}
    assert json.loads(_authorizer_identity(synthesized))["issuers"] == []
    assert constants.OUTPUT_USER_POOL_ID not in synthesized.template.to_json()["Outputs"]


def test_cognito_pool_has_a_strong_password_policy_and_totp_mfa(cognito_synthesized: SynthesizedStack) -> None:
    pools = _end_user(cognito_synthesized.resources, "AWS::Cognito::UserPool")

    assert len(pools) == 1
    (pool,) = pools.values()
    properties = pool["Properties"]
    policy = properties["Policies"]["PasswordPolicy"]
    assert policy["MinimumLength"] >= 12
    assert all(policy[flag] for flag in ("RequireLowercase", "RequireUppercase", "RequireNumbers", "RequireSymbols"))
    assert properties["MfaConfiguration"] == "OPTIONAL"
    assert properties["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    assert properties["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert pool["DeletionPolicy"] == "Retain"


def test_cognito_app_client_is_public_with_srp_only(cognito_synthesized: SynthesizedStack) -> None:
    (client,) = _end_user(cognito_synthesized.resources, "AWS::Cognito::UserPoolClient").values()

    assert client["Properties"]["GenerateSecret"] is False
    assert set(client["Properties"]["ExplicitAuthFlows"]) == {"ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}
    assert client["Properties"]["PreventUserExistenceErrors"] == "ENABLED"


def test_authorizer_trusts_the_pool_and_the_external_issuer(cognito_synthesized: SynthesizedStack) -> None:
    stack = cognito_synthesized.stack
    rendered = json.dumps(_authorizer_identity(cognito_synthesized))

    # The pool's issuer and client id are CloudFormation values inside the JSON.
    assert cognito_synthesized.logical_id(stack.identity.user_pool) in rendered
    assert cognito_synthesized.logical_id(stack.identity.app_client) in rendered
    assert f'\\"name\\":\\"{COGNITO_ISSUER_NAME}\\"' in rendered
    assert EXTERNAL_ISSUER in rendered and "keycloak" in rendered
    assert "/.well-known/jwks.json" in rendered


def test_pool_outputs_tell_apps_what_to_configure(cognito_synthesized: SynthesizedStack) -> None:
    outputs = cognito_synthesized.template.to_json()["Outputs"]

    for output in (
        constants.OUTPUT_USER_POOL_ID,
        constants.OUTPUT_USER_POOL_CLIENT_ID,
        constants.OUTPUT_USER_POOL_ISSUER,
    ):
        assert output in outputs


def test_authorizer_has_no_cognito_permissions(cognito_synthesized: SynthesizedStack) -> None:
    # Verifying tokens needs only the public JWKS, never the Cognito API.
    role = cognito_synthesized.stack.functions.authorizer.role
    policies = resources_of_type(cognito_synthesized.resources, "AWS::IAM::Policy").values()
    statements = [
        s
        for p in policies
        if {"Ref": cognito_synthesized.logical_id(role)} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert "cognito" not in json.dumps(statements)


def test_cognito_variant_passes_cdk_nag(cognito_synthesized: SynthesizedStack) -> None:
    report = AwsSolutionsChecks().validate_scope(cognito_synthesized.app)

    assert [v.rule_name for v in report.violations] == []


@pytest.mark.parametrize(
    ("identity", "message"),
    [
        ({"oidc": [{"issuer": "http://login.example.com", "audience": "a"}]}, "must be an https:// URL"),
        ({"oidc": [{"issuer": "https://login.example.com"}]}, "audience"),
        ({"oidc": [{"issuer": "https://a.example.com", "audience": "a", "algorithms": ["HS256"]}]}, "algorithms"),
        ({"cognito": {"create": True, "mfa": "sometimes"}}, "mfa"),
        (
            {
                "cognito": {"create": True},
                "oidc": [{"issuer": "https://a.example.com", "audience": "a", "name": "cognito"}],
            },
            "cognito",
        ),
    ],
)
def test_invalid_identity_configuration_fails_synth(tmp_path: Path, identity: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidConfigurationError, match=message):
        build_app({**SKIP_BUNDLING, "warden.identity": json.dumps(identity)}, outdir=str(tmp_path))
