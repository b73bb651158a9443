"""The reviewer API: its own REST API, the reviewers' Cognito pool as its only authorizer, and a reviewer function
that can read records and decide cases but not write the audit bucket."""

from __future__ import annotations

import json
from typing import Any

import pytest
from warden import constants
from warden.api_errors import REVIEWER_UNAUTHORIZED

from tests.infrastructure.synth import (
    SynthesizedStack,
    actions_of,
    methods_by_route,
    policy_statements,
    resources_of_type,
)

CONSOLE_ROUTES = {(method, path.rsplit("/", 1)[-1]) for method, path in constants.REVIEW_CONSOLE_ROUTES}
DATA_ROUTES = {(method, path.rsplit("/", 1)[-1]) for method, path in constants.REVIEW_ROUTES}


@pytest.fixture(scope="module")
def review_api(synthesized: SynthesizedStack) -> dict[str, Any]:
    """The reviewer API's own API Gateway resources."""
    api_id = synthesized.logical_id(synthesized.stack.review_api.rest_api)
    return {
        logical_id: resource
        for logical_id, resource in synthesized.resources.items()
        if resource["Type"].startswith("AWS::ApiGateway::")
        and resource["Properties"].get("RestApiId") == {"Ref": api_id}
    }


def test_every_data_route_needs_a_reviewer_pool_token_and_only_the_console_is_open(
    synthesized: SynthesizedStack, review_api: dict[str, Any]
) -> None:
    authorizer_id = synthesized.logical_id(synthesized.stack.review_api.authorizer)
    reviewer_arn = {"Fn::GetAtt": [synthesized.logical_id(synthesized.stack.functions.reviewer.function), "Arn"]}
    methods = methods_by_route(review_api)

    assert set(methods) == CONSOLE_ROUTES | DATA_ROUTES
    for route, method in methods.items():
        assert method.get("ApiKeyRequired", False) is False, route
        assert reviewer_arn in method["Integration"]["Uri"]["Fn::Join"][1], route
        if route in CONSOLE_ROUTES:
            assert method["AuthorizationType"] == "NONE", route
        else:
            assert method["AuthorizationType"] == "COGNITO_USER_POOLS", route
            assert method["AuthorizerId"] == {"Ref": authorizer_id}, route


def test_the_only_authorizer_is_the_reviewer_pool(synthesized: SynthesizedStack, review_api: dict[str, Any]) -> None:
    pool_id = synthesized.logical_id(synthesized.stack.reviewer_pool.user_pool)

    [authorizer] = resources_of_type(review_api, "AWS::ApiGateway::Authorizer").values()

    assert authorizer["Properties"]["Type"] == "COGNITO_USER_POOLS"
    assert authorizer["Properties"]["ProviderARNs"] == [{"Fn::GetAtt": [pool_id, "Arn"]}]


def test_reviewer_pool_is_admin_only_with_the_reviewer_groups(synthesized: SynthesizedStack) -> None:
    pool_id = synthesized.logical_id(synthesized.stack.reviewer_pool.user_pool)
    pool = synthesized.resources[pool_id]["Properties"]
    groups = resources_of_type(synthesized.resources, "AWS::Cognito::UserPoolGroup").values()

    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] >= 14
    assert pool["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    assert pool["MfaConfiguration"] == "ON"
    assert sorted(
        g["Properties"]["GroupName"] for g in groups if g["Properties"]["UserPoolId"] == {"Ref": pool_id}
    ) == ["reviewers", "senior-reviewers"]


def test_missing_reviewer_tokens_get_the_anthropic_error_shape(review_api: dict[str, Any]) -> None:
    status, error_type, message = REVIEWER_UNAUTHORIZED

    [response] = [
        r["Properties"]
        for r in resources_of_type(review_api, "AWS::ApiGateway::GatewayResponse").values()
        if r["Properties"]["ResponseType"] == "UNAUTHORIZED"
    ]

    assert response["StatusCode"] == str(status)
    assert json.loads(response["ResponseTemplates"]["application/json"])["error"] == {
        "type": error_type,
        "message": message,
    }


def test_reviewer_function_reads_records_and_never_writes_the_bucket(synthesized: SynthesizedStack) -> None:
    reviewer = synthesized.stack.functions.reviewer
    statements = policy_statements(synthesized.resources, synthesized.logical_id(reviewer.role))
    bucket_id = synthesized.logical_id(synthesized.stack.audit.bucket)
    on_bucket = [s for s in statements if bucket_id in json.dumps(s["Resource"])]
    tenants_id = synthesized.logical_id(synthesized.stack.user_state.tenants_table)
    on_tenants = [s for s in statements if tenants_id in json.dumps(s["Resource"])]

    assert on_bucket and not any(action.startswith("s3:Put") for action in actions_of(on_bucket))
    assert f"/{constants.AUDIT_RECORDS_PREFIX}*" in json.dumps([s["Resource"] for s in on_bucket])
    assert actions_of(on_tenants) == {"dynamodb:Query"}
    assert f"/index/{constants.TENANTS_ID_INDEX}" in json.dumps(on_tenants)


def test_the_gateway_cannot_read_the_reviewers_user_index(synthesized: SynthesizedStack) -> None:
    gateway = synthesized.stack.functions.gateway
    statements = policy_statements(synthesized.resources, synthesized.logical_id(gateway.role))

    assert "/index/" not in json.dumps([s["Resource"] for s in statements if "UsersTable" in json.dumps(s)])


@pytest.mark.parametrize(
    "output",
    [
        constants.OUTPUT_REVIEW_API_URL,
        constants.OUTPUT_REVIEW_CONSOLE_URL,
        constants.OUTPUT_REVIEWER_POOL_ID,
        constants.OUTPUT_REVIEWER_CLIENT_ID,
    ],
)
def test_stack_outputs_what_reviewers_and_operators_need(synthesized: SynthesizedStack, output: str) -> None:
    outputs = synthesized.template.to_json()["Outputs"]

    assert outputs[output]["Value"]
    assert outputs[output]["Description"]
