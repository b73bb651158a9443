"""The reviewer API and console: a REST API of its own, behind a Cognito user pool for reviewers.

Separate from the tenant API, so a tenant key can never reach it: its only authorizer is the reviewers' Cognito
pool (an ID token of a member of the `reviewers` group; the reviewer function checks the group). The console page
is served by the same function from `GET /review/console` and holds no data; it signs reviewers in against the
pool and calls the API with their ID token.
"""

from __future__ import annotations

import json

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct
from warden import constants
from warden.api_errors import GATEWAY_RESPONSES, REVIEWER_UNAUTHORIZED
from warden.domain.decisions import SENIOR_REVIEWERS_GROUP
from warden.domain.reviewing import REVIEWERS_GROUP

from infra.constructs._cognito import strong_password_policy
from infra.constructs.api import ACCESS_LOG_RETENTION, GATEWAY_RESPONSE_HEADERS, gateway_response_template
from infra.nag import acknowledge

STAGE_NAME = "prod"
# Reviewers are people at a console: a low ceiling is plenty and bounds what a stolen token can pull.
THROTTLE_RATE = 20
THROTTLE_BURST = 40
ID_TOKEN_VALIDITY = Duration.hours(1)
REFRESH_TOKEN_VALIDITY = Duration.hours(12)
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "requestTime": "$context.requestTime",
    "reviewer": "$context.authorizer.claims.cognito:username",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "status": "$context.status",
    "responseLatency": "$context.responseLatency",
    "errorType": "$context.error.responseType",
}


class ReviewerPool(Construct):
    """The reviewers' Cognito user pool, its `reviewers` group and the console's app client."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.user_pool = self._build_user_pool()
        self.app_client = self._build_app_client()
        cognito.CfnUserPoolGroup(
            self,
            "ReviewersGroup",
            user_pool_id=self.user_pool.user_pool_id,
            group_name=REVIEWERS_GROUP,
            description="May use the Warden reviewer API and console",
        )
        cognito.CfnUserPoolGroup(
            self,
            "SeniorReviewersGroup",
            user_pool_id=self.user_pool.user_pool_id,
            group_name=SENIOR_REVIEWERS_GROUP,
            description="Also handles escalated review cases (members must be in 'reviewers' too)",
        )

    def _build_user_pool(self) -> cognito.UserPool:
        pool = cognito.UserPool(
            self,
            "ReviewerPool",
            # Reviewers are added by an administrator (`aws cognito-idp admin-create-user`, then the group).
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(username=True, email=True),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            password_policy=strong_password_policy(min_length=14),
            # Reviewers read every prompt and completion: a second factor is required (the console enrols it).
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(sms=False, otp=True),
            feature_plan=cognito.FeaturePlan.ESSENTIALS,
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            pool,
            "AwsSolutions-COG8",
            "Cognito threat protection needs the Plus feature plan (billed per monthly active user); reviewer "
            "accounts are few, admin-created, with a 14-character password policy and required TOTP MFA.",
        )
        return pool

    def _build_app_client(self) -> cognito.UserPoolClient:
        # The console runs in the reviewer's browser: a public client (no secret) signing in with the password
        # over TLS to Cognito (USER_PASSWORD_AUTH) or SRP.
        return self.user_pool.add_client(
            "ConsoleClient",
            generate_secret=False,
            auth_flows=cognito.AuthFlow(user_password=True, user_srp=True),
            prevent_user_existence_errors=True,
            id_token_validity=ID_TOKEN_VALIDITY,
            access_token_validity=ID_TOKEN_VALIDITY,
            refresh_token_validity=REFRESH_TOKEN_VALIDITY,
            enable_token_revocation=True,
        )


class ReviewApi(Construct):
    """The reviewer REST API: the console routes open, every other route behind the reviewer pool."""

    def __init__(self, scope: Construct, construct_id: str, *, reviewer: lambda_.IFunction, pool: ReviewerPool) -> None:
        super().__init__(scope, construct_id)
        self.access_log_group = logs.LogGroup(self, "AccessLogs", retention=ACCESS_LOG_RETENTION)
        self.rest_api = self._build_rest_api()
        self.authorizer = apigw.CognitoUserPoolsAuthorizer(
            self, "ReviewerAuthorizer", cognito_user_pools=[pool.user_pool], results_cache_ttl=Duration.minutes(5)
        )
        self._build_gateway_responses()
        self._build_routes(reviewer)
        self._acknowledge_findings()

    @property
    def url(self) -> str:
        return self.rest_api.url

    @property
    def console_url(self) -> str:
        return f"{self.rest_api.url}review/console"

    def _build_rest_api(self) -> apigw.RestApi:
        return apigw.RestApi(
            self,
            "RestApi",
            description="Warden reviewer API and console (reviewers only; tenant keys are not accepted)",
            endpoint_configuration=apigw.EndpointConfiguration(types=[apigw.EndpointType.REGIONAL]),
            cloud_watch_role=False,
            deploy_options=apigw.StageOptions(
                stage_name=STAGE_NAME,
                tracing_enabled=True,
                metrics_enabled=True,
                throttling_rate_limit=THROTTLE_RATE,
                throttling_burst_limit=THROTTLE_BURST,
                access_log_destination=apigw.LogGroupLogDestination(self.access_log_group),
                access_log_format=apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FORMAT)),
            ),
        )

    def _build_gateway_responses(self) -> None:
        responses = {**GATEWAY_RESPONSES, "UNAUTHORIZED": REVIEWER_UNAUTHORIZED}
        for name in (
            "UNAUTHORIZED",
            "ACCESS_DENIED",
            "MISSING_AUTHENTICATION_TOKEN",
            "THROTTLED",
            "DEFAULT_4XX",
            "DEFAULT_5XX",
        ):
            status, error_type, message = responses[name]
            self.rest_api.add_gateway_response(
                f"{name.title().replace('_', '')}Response",
                type=getattr(apigw.ResponseType, name.replace("XX", "_XX")),
                status_code=str(status),
                response_headers=dict(GATEWAY_RESPONSE_HEADERS),
                templates={"application/json": gateway_response_template(error_type, message)},
            )

    def _resource(self, path: str) -> apigw.IResource:
        resource: apigw.IResource = self.rest_api.root
        for part in path.strip("/").split("/"):
            resource = resource.get_resource(part) or resource.add_resource(part)
        return resource

    def _build_routes(self, reviewer: lambda_.IFunction) -> None:
        integration = apigw.LambdaIntegration(reviewer, proxy=True, allow_test_invoke=False)
        for method, path in constants.REVIEW_CONSOLE_ROUTES:
            self._resource(path).add_method(method, integration, authorization_type=apigw.AuthorizationType.NONE)
        for method, path in constants.REVIEW_ROUTES:
            self._resource(path).add_method(
                method,
                integration,
                authorizer=self.authorizer,
                authorization_type=apigw.AuthorizationType.COGNITO,
            )

    def _acknowledge_findings(self) -> None:
        acknowledge(
            self.rest_api,
            "AwsSolutions-APIG2",
            "The reviewer function validates every path, query and body itself (clear Anthropic-shaped 400s); the "
            "bodies are small JSON objects of one or two strings.",
        )
        acknowledge(
            self.rest_api,
            "AwsSolutions-APIG3",
            "Reachable only with a reviewer pool ID token (Cognito authorizer) and throttled stage-wide; a WAF web "
            "ACL is an account-level choice operators can associate with the stage without changing this stack.",
        )
        acknowledge(
            self.rest_api,
            "AwsSolutions-APIG4",
            "Only the console page and its sign-in settings (GET /review/console, /review/console/config) are open: "
            "static content with no data; every data route has the reviewer pool's Cognito authorizer.",
        )
        acknowledge(
            self.rest_api,
            "AwsSolutions-COG4",
            "Only the console page and its sign-in settings go without the Cognito authorizer: they hold no data.",
        )
        acknowledge(
            self.rest_api,
            "AwsSolutions-APIG6",
            "Access logging (JSON, per request, with the reviewer) is on. Execution logging needs the account-wide "
            "API Gateway CloudWatch role, which this stack deliberately does not manage, and would log case content.",
        )
