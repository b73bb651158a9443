"""The HTTP face of Warden: a regional REST API that the official anthropic SDK can call unmodified.

Tenant keys arrive as `x-api-key` or `Authorization: Bearer` depending on the SDK version, so no single
identity source can be required and API Gateway's authorizer result cache is off; the authorizer function
caches per container instead. The authorizer also returns the tenant's usage-plan key
(`api_key_source_type=AUTHORIZER`), so per-tenant throttling and quotas are enforced by API Gateway.
API Gateway's own refusals use the Anthropic error shape (see `warden.api_errors.GATEWAY_RESPONSES`).
"""

from __future__ import annotations

import json

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct
from warden.api_errors import GATEWAY_RESPONSES, anthropic_error_body
from warden.config import UsagePlanConfig
from warden.constants import AUTH_CONTEXT_TENANT_ID, HEADER_REQUEST_ID

from infra.nag import acknowledge

STAGE_NAME = "prod"
USER_ID_PARAMETER = "user_id"
ACCESS_LOG_RETENTION = logs.RetentionDays.THREE_MONTHS
# Stage-wide ceiling across all tenants, as a multiple of the per-tenant usage plan: a backstop on total
# Claude spend, not a per-tenant limit.
STAGE_THROTTLE_FACTOR = 10
# Headers API Gateway adds to its own refusals (static values are single-quoted in gateway responses).
GATEWAY_RESPONSE_HEADERS = {HEADER_REQUEST_ID: "context.requestId"}
EXTRA_RESPONSE_HEADERS: dict[str, dict[str, str]] = {
    # A short, fixed back-off; the SDK honours retry-after.
    "THROTTLED": {"retry-after": "'1'"},
    # A monthly quota does not come back within the SDK's retry window.
    "QUOTA_EXCEEDED": {"x-should-retry": "'false'"},
}
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "requestTime": "$context.requestTime",
    "tenant": f"$context.authorizer.{AUTH_CONTEXT_TENANT_ID}",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "status": "$context.status",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integrationLatency",
    "responseLength": "$context.responseLength",
    "errorType": "$context.error.responseType",
    "authorizerError": "$context.authorizer.error",
    "xrayTraceId": "$context.xrayTraceId",
}
MESSAGES_REQUEST_SCHEMA = apigw.JsonSchema(
    schema=apigw.JsonSchemaVersion.DRAFT4,
    title="MessagesRequest",
    type=apigw.JsonSchemaType.OBJECT,
    required=["model", "max_tokens", "messages"],
    properties={
        "model": apigw.JsonSchema(type=apigw.JsonSchemaType.STRING),
        "max_tokens": apigw.JsonSchema(type=apigw.JsonSchemaType.INTEGER),
        "messages": apigw.JsonSchema(type=apigw.JsonSchemaType.ARRAY),
    },
)

POLICY_ACCEPTANCE_PATH_PART = "policy-acceptance"
POLICY_ACCEPTANCE_SCHEMA = apigw.JsonSchema(
    schema=apigw.JsonSchemaVersion.DRAFT4,
    title="PolicyAcceptance",
    type=apigw.JsonSchemaType.OBJECT,
    required=["version"],
    properties={"version": apigw.JsonSchema(type=apigw.JsonSchemaType.STRING, min_length=1, max_length=64)},
)


def gateway_response_template(error_type: str, message: str) -> str:
    """Body of one gateway response.

    Gateway response templates get plain variable substitution, not VTL, so nothing can be JSON-escaped at run
    time: the message is a fixed string, and `$context.error.validationErrorString` (which contains quotes)
    is deliberately not used.
    """
    return json.dumps(anthropic_error_body(error_type, message, {"request_id": "$context.requestId"}))


class WardenApi(Construct):
    """REST API `prod` stage with the tenant routes of `warden.constants.TENANT_ROUTES`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        gateway: lambda_.IFunction,
        authorizer: lambda_.IFunction,
        usage_plan: UsagePlanConfig,
    ) -> None:
        super().__init__(scope, construct_id)
        self.access_log_group = logs.LogGroup(self, "AccessLogs", retention=ACCESS_LOG_RETENTION)
        self.rest_api = self._build_rest_api(usage_plan)
        self.authorizer = self._build_authorizer(authorizer)
        self._build_gateway_responses()
        self._build_routes(gateway)
        self.usage_plan = self._build_usage_plan(usage_plan)
        self._acknowledge_findings()

    @property
    def url(self) -> str:
        return self.rest_api.url

    def _build_rest_api(self, usage_plan: UsagePlanConfig) -> apigw.RestApi:
        return apigw.RestApi(
            self,
            "RestApi",
            description="Warden: trust-and-safety gateway in front of Claude (Anthropic Messages API compatible)",
            endpoint_configuration=apigw.EndpointConfiguration(types=[apigw.EndpointType.REGIONAL]),
            api_key_source_type=apigw.ApiKeySourceType.AUTHORIZER,
            cloud_watch_role=False,
            deploy_options=apigw.StageOptions(
                stage_name=STAGE_NAME,
                tracing_enabled=True,
                metrics_enabled=True,
                throttling_rate_limit=usage_plan.rate_limit * STAGE_THROTTLE_FACTOR,
                throttling_burst_limit=usage_plan.burst_limit * STAGE_THROTTLE_FACTOR,
                access_log_destination=apigw.LogGroupLogDestination(self.access_log_group),
                access_log_format=apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FORMAT)),
            ),
        )

    def _build_authorizer(self, handler: lambda_.IFunction) -> apigw.RequestAuthorizer:
        authorizer = apigw.RequestAuthorizer(
            self,
            "TenantAuthorizer",
            handler=handler,
            # The key is in one of two headers, so none can be required; that rules out API Gateway caching.
            identity_sources=[],
            results_cache_ttl=Duration.seconds(0),
        )
        # CDK renders "no identity sources" as IdentitySource ""; without caching the property is optional, so
        # leave it out rather than depend on how API Gateway reads an empty source list.
        cfn_authorizer = authorizer.node.default_child
        if not isinstance(cfn_authorizer, apigw.CfnAuthorizer):
            raise TypeError("RequestAuthorizer no longer wraps a CfnAuthorizer")
        cfn_authorizer.add_property_deletion_override("IdentitySource")
        return authorizer

    def _build_gateway_responses(self) -> None:
        for name, (status, error_type, message) in GATEWAY_RESPONSES.items():
            # CDK's Python names put an underscore before "XX" (DEFAULT_4XX -> DEFAULT_4_XX).
            response_type = getattr(apigw.ResponseType, name.replace("XX", "_XX"), None)
            if not isinstance(response_type, apigw.ResponseType):
                raise ValueError(f"warden.api_errors.GATEWAY_RESPONSES names an unknown gateway response type: {name}")
            self.rest_api.add_gateway_response(
                f"{name.title().replace('_', '')}Response",
                type=response_type,
                status_code=str(status),
                response_headers={**GATEWAY_RESPONSE_HEADERS, **EXTRA_RESPONSE_HEADERS.get(name, {})},
                templates={"application/json": gateway_response_template(error_type, message)},
            )

    def _build_routes(self, gateway: lambda_.IFunction) -> None:
        integration = apigw.LambdaIntegration(gateway, proxy=True, allow_test_invoke=False)
        validator = self.rest_api.add_request_validator(
            "RequestValidator", validate_request_body=True, validate_request_parameters=True
        )
        messages_model = self.rest_api.add_model(
            "MessagesRequestModel", content_type="application/json", schema=MESSAGES_REQUEST_SCHEMA
        )
        user_parameter = {f"method.request.path.{USER_ID_PARAMETER}": True}

        v1 = self.rest_api.root.add_resource("v1")
        messages = v1.add_resource("messages")
        user = v1.add_resource("users").add_resource(f"{{{USER_ID_PARAMETER}}}")
        self._add_tenant_method(
            messages, "POST", integration, validator, request_models={"application/json": messages_model}
        )
        self._add_tenant_method(user, "GET", integration, validator, request_parameters=user_parameter)
        acceptance_model = self.rest_api.add_model(
            "PolicyAcceptanceModel", content_type="application/json", schema=POLICY_ACCEPTANCE_SCHEMA
        )
        self._add_tenant_method(
            user.add_resource(POLICY_ACCEPTANCE_PATH_PART),
            "POST",
            integration,
            validator,
            request_models={"application/json": acceptance_model},
            request_parameters=user_parameter,
        )

    def _add_tenant_method(
        self,
        resource: apigw.IResource,
        http_method: str,
        integration: apigw.Integration,
        validator: apigw.IRequestValidator,
        *,
        request_models: dict[str, apigw.IModel] | None = None,
        request_parameters: dict[str, bool] | None = None,
    ) -> None:
        """A method only a tenant key can reach: authorizer, usage-plan key and request validation."""
        resource.add_method(
            http_method,
            integration,
            authorizer=self.authorizer,
            authorization_type=apigw.AuthorizationType.CUSTOM,
            api_key_required=True,
            request_validator=validator,
            request_models=request_models,
            request_parameters=request_parameters,
        )

    def _build_usage_plan(self, config: UsagePlanConfig) -> apigw.UsagePlan:
        return self.rest_api.add_usage_plan(
            "DefaultUsagePlan",
            description="Warden default tenant plan; the tenant CLI adds each tenant's API key to it",
            throttle=apigw.ThrottleSettings(rate_limit=config.rate_limit, burst_limit=config.burst_limit),
            quota=(
                apigw.QuotaSettings(limit=config.quota_per_month, period=apigw.Period.MONTH)
                if config.quota_per_month is not None
                else None
            ),
            api_stages=[apigw.UsagePlanPerApiStage(api=self.rest_api, stage=self.rest_api.deployment_stage)],
        )

    def _acknowledge_findings(self) -> None:
        acknowledge(
            self.rest_api,
            "AwsSolutions-APIG3",
            "Every method needs a tenant API key checked by the Lambda authorizer and is throttled per tenant by the "
            "usage plan and stage-wide by the stage; a WAF web ACL is an account-level choice (cost, rule sets) that "
            "operators can associate with the stage without changing this stack.",
        )
        acknowledge(
            self.rest_api,
            "AwsSolutions-APIG6",
            "Access logging (JSON, per request, with the tenant) is on. Execution logging needs the account-wide API "
            "Gateway CloudWatch role, which this stack deliberately does not manage "
            "(@aws-cdk/aws-apigateway:disableCloudWatchRole), and would risk writing prompts into logs.",
        )
        acknowledge(
            self.rest_api,
            "AwsSolutions-COG4",
            "Callers are tenant apps identified by tenant API keys (the Anthropic SDK's x-api-key / Bearer), "
            "verified by the Lambda REQUEST authorizer; end-user tokens of JWT tenants (from the optional Cognito "
            "pool or external OIDC issuers) are verified by the same authorizer, which needs the tenant key too.",
        )
