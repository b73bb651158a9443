"""The REST API: tenant-key authorizer, usage plan, request validation and Anthropic-shaped refusals."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match, Template
from warden.api_errors import GATEWAY_RESPONSES
from warden.constants import AUTH_CONTEXT_TENANT_ID, HEADER_REQUEST_ID, TENANT_ROUTES

from infra.constructs.api import STAGE_NAME
from tests.infrastructure.synth import SynthesizedStack, methods_by_route, resources_of_type

ROUTES = {(method, path.rsplit("/", 1)[-1]) for method, path in TENANT_ROUTES}


@pytest.fixture(scope="module")
def tenant_api(synthesized: SynthesizedStack, resources: dict[str, Any]) -> dict[str, Any]:
    """The template's resources, with only the tenant API's among the API Gateway ones (the reviewer API has its own:
    tests/infrastructure/test_review_api.py)."""
    api_id = synthesized.logical_id(synthesized.stack.api.rest_api)
    return {
        logical_id: resource
        for logical_id, resource in resources.items()
        if not resource["Type"].startswith("AWS::ApiGateway::")
        or resource["Properties"].get("RestApiId", {"Ref": api_id}) == {"Ref": api_id}
    }


def test_api_is_regional_and_takes_usage_keys_from_the_authorizer(template: Template) -> None:
    template.has_resource_properties(
        "AWS::ApiGateway::RestApi",
        {"ApiKeySourceType": "AUTHORIZER", "EndpointConfiguration": {"Types": ["REGIONAL"]}},
    )


def test_routes_are_exactly_the_tenant_endpoints(tenant_api: dict[str, Any]) -> None:
    path_parts = sorted(
        r["Properties"]["PathPart"] for r in resources_of_type(tenant_api, "AWS::ApiGateway::Resource").values()
    )

    assert path_parts == sorted(["v1", "messages", "users", "{user_id}", "policy-acceptance"])
    assert set(methods_by_route(tenant_api)) == ROUTES


def test_every_method_needs_the_authorizer_an_api_key_and_validation(
    synthesized: SynthesizedStack, tenant_api: dict[str, Any]
) -> None:
    authorizer_id = synthesized.logical_id(synthesized.stack.api.authorizer)
    gateway_arn = {"Fn::GetAtt": [synthesized.logical_id(synthesized.stack.functions.gateway.function), "Arn"]}
    validators = resources_of_type(tenant_api, "AWS::ApiGateway::RequestValidator")

    for route, method in methods_by_route(tenant_api).items():
        assert method["AuthorizationType"] == "CUSTOM", route
        assert method["AuthorizerId"] == {"Ref": authorizer_id}, route
        assert method["ApiKeyRequired"] is True, route
        assert method["RequestValidatorId"]["Ref"] in validators, route
        assert method["Integration"]["Type"] == "AWS_PROXY", route
        assert gateway_arn in method["Integration"]["Uri"]["Fn::Join"][1], route
    assert [v["Properties"]["ValidateRequestBody"] for v in validators.values()] == [True]
    assert [v["Properties"]["ValidateRequestParameters"] for v in validators.values()] == [True]


def test_authorizer_is_uncached_without_required_identity_sources(tenant_api: dict[str, Any]) -> None:
    authorizers = resources_of_type(tenant_api, "AWS::ApiGateway::Authorizer")

    assert len(authorizers) == 1
    properties = next(iter(authorizers.values()))["Properties"]
    assert properties["Type"] == "REQUEST"
    assert properties["AuthorizerResultTtlInSeconds"] == 0
    assert "IdentitySource" not in properties


def test_messages_body_must_name_model_max_tokens_and_messages(tenant_api: dict[str, Any]) -> None:
    messages = methods_by_route(tenant_api)[("POST", "messages")]
    model_id = messages["RequestModels"]["application/json"]["Ref"]

    schema = tenant_api[model_id]["Properties"]["Schema"]

    assert sorted(schema["required"]) == ["max_tokens", "messages", "model"]
    assert schema["properties"] == {
        "model": {"type": "string"},
        "max_tokens": {"type": "integer"},
        "messages": {"type": "array"},
    }


def test_user_routes_require_the_user_id_path_parameter(tenant_api: dict[str, Any]) -> None:
    methods = methods_by_route(tenant_api)

    for route in (("GET", "{user_id}"), ("POST", "policy-acceptance")):
        assert methods[route]["RequestParameters"] == {"method.request.path.user_id": True}


def test_policy_acceptance_body_must_name_the_version(tenant_api: dict[str, Any]) -> None:
    acceptance = methods_by_route(tenant_api)[("POST", "policy-acceptance")]
    model_id = acceptance["RequestModels"]["application/json"]["Ref"]

    schema = tenant_api[model_id]["Properties"]["Schema"]

    assert schema["required"] == ["version"]
    assert schema["properties"] == {"version": {"type": "string", "minLength": 1, "maxLength": 64}}


@pytest.mark.parametrize("response_type", sorted(GATEWAY_RESPONSES))
def test_gateway_response_uses_the_anthropic_error_shape(tenant_api: dict[str, Any], response_type: str) -> None:
    status, error_type, message = GATEWAY_RESPONSES[response_type]
    responses = {
        logical_id: response
        for logical_id, response in resources_of_type(tenant_api, "AWS::ApiGateway::GatewayResponse").items()
        if response["Properties"]["ResponseType"] == response_type
    }

    assert len(responses) == 1
    properties = next(iter(responses.values()))["Properties"]
    assert properties["StatusCode"] == str(status)
    assert properties["ResponseParameters"][f"gatewayresponse.header.{HEADER_REQUEST_ID}"] == "context.requestId"
    body = json.loads(properties["ResponseTemplates"]["application/json"])
    assert body == {
        "type": "error",
        "error": {"type": error_type, "message": message},
        "warden": {"request_id": "$context.requestId"},
    }


@pytest.mark.parametrize(
    ("response_type", "status", "error_type"),
    [
        ("BAD_REQUEST_BODY", 400, "invalid_request_error"),
        ("UNAUTHORIZED", 401, "authentication_error"),
        ("INVALID_API_KEY", 401, "authentication_error"),
        ("THROTTLED", 429, "rate_limit_error"),
        ("QUOTA_EXCEEDED", 429, "rate_limit_error"),
        ("REQUEST_TOO_LARGE", 413, "request_too_large"),
        ("DEFAULT_4XX", 400, "invalid_request_error"),
        ("DEFAULT_5XX", 500, "api_error"),
    ],
)
def test_api_gateway_refusals_map_to_anthropic_statuses(
    template: Template, response_type: str, status: int, error_type: str
) -> None:
    template.has_resource_properties(
        "AWS::ApiGateway::GatewayResponse",
        {
            "ResponseType": response_type,
            "StatusCode": str(status),
            "ResponseTemplates": {"application/json": Match.string_like_regexp(f'"type": "{error_type}"')},
        },
    )


def test_throttled_responses_tell_the_sdk_when_to_retry(template: Template) -> None:
    template.has_resource_properties(
        "AWS::ApiGateway::GatewayResponse",
        {
            "ResponseType": "THROTTLED",
            "ResponseParameters": Match.object_like({"gatewayresponse.header.retry-after": "'1'"}),
        },
    )


def test_stage_traces_meters_throttles_and_logs_access_as_json(
    synthesized: SynthesizedStack, tenant_api: dict[str, Any]
) -> None:
    log_group_id = synthesized.logical_id(synthesized.stack.api.access_log_group)
    stages = resources_of_type(tenant_api, "AWS::ApiGateway::Stage")

    assert len(stages) == 1
    stage = next(iter(stages.values()))["Properties"]
    assert stage["StageName"] == STAGE_NAME
    assert stage["TracingEnabled"] is True
    [settings] = stage["MethodSettings"]
    assert settings["MetricsEnabled"] is True
    assert settings["ThrottlingRateLimit"] > 0
    assert settings["ThrottlingBurstLimit"] > 0
    assert stage["AccessLogSetting"]["DestinationArn"] == {"Fn::GetAtt": [log_group_id, "Arn"]}
    access_log = json.loads(stage["AccessLogSetting"]["Format"])
    assert access_log["tenant"] == f"$context.authorizer.{AUTH_CONTEXT_TENANT_ID}"
    assert {"requestId", "status", "responseLatency"} <= set(access_log)


def test_default_usage_plan_follows_the_config_and_covers_the_stage(
    synthesized: SynthesizedStack, template: Template
) -> None:
    usage_plan = synthesized.config.usage_plan
    plans = template.find_resources("AWS::ApiGateway::UsagePlan")

    assert len(plans) == 1
    plan = next(iter(plans.values()))["Properties"]
    assert plan["Throttle"] == {"RateLimit": usage_plan.rate_limit, "BurstLimit": usage_plan.burst_limit}
    assert ("Quota" in plan) == (usage_plan.quota_per_month is not None)
    [api_stage] = plan["ApiStages"]
    assert api_stage["ApiId"] == {"Ref": synthesized.logical_id(synthesized.stack.api.rest_api)}


def test_monthly_quota_is_set_when_configured(bedrock_synthesized: SynthesizedStack) -> None:
    quota = bedrock_synthesized.config.usage_plan.quota_per_month

    plans = bedrock_synthesized.template.find_resources("AWS::ApiGateway::UsagePlan")

    assert quota is not None
    assert [p["Properties"]["Quota"] for p in plans.values()] == [{"Limit": quota, "Period": "MONTH"}]
    bedrock_synthesized.template.has_resource_properties(
        "AWS::ApiGateway::GatewayResponse",
        {
            "ResponseType": "QUOTA_EXCEEDED",
            "ResponseParameters": Match.object_like({"gatewayresponse.header.x-should-retry": "'false'"}),
        },
    )
