"""The Warden stack: composes one construct per concern and exports what the CLI needs to find them."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct
from warden import constants
from warden.config import WardenConfig

from infra.constructs.api import WardenApi
from infra.constructs.audit_storage import AuditStorage
from infra.constructs.end_user_identity import EndUserIdentity
from infra.constructs.functions import AUDIT_DRAIN, REVIEW, WardenFunctions, queue_visibility_timeout
from infra.constructs.guardrail import ScreeningGuardrail
from infra.constructs.monitoring import Monitoring
from infra.constructs.review_api import ReviewApi, ReviewerPool
from infra.constructs.review_pipeline import ReviewPipeline
from infra.constructs.secrets import PUT_ANTHROPIC_KEY_COMMAND, Secrets
from infra.constructs.user_state import UserState


class WardenStack(Stack):
    """API Gateway → authorizer + gateway Lambdas → audit bucket, user state, review pipeline; alarms on top."""

    def __init__(self, scope: Construct, construct_id: str, *, config: WardenConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.config = config
        self.audit = AuditStorage(
            self,
            "AuditStorage",
            retention=config.retention,
            fallback_visibility_timeout=queue_visibility_timeout(AUDIT_DRAIN),
        )
        self.user_state = UserState(self, "UserState")
        self.review = ReviewPipeline(
            self, "ReviewPipeline", visibility_timeout=queue_visibility_timeout(REVIEW), config=config.review
        )
        self.secrets = Secrets(self, "Secrets")
        self.identity = EndUserIdentity(self, "EndUserIdentity", config=config.identity)
        self.reviewer_pool = ReviewerPool(self, "ReviewerPool")
        self.functions = WardenFunctions(
            self,
            "Functions",
            config=config,
            audit=self.audit,
            user_state=self.user_state,
            review=self.review,
            secrets=self.secrets,
            identity=self.identity,
            reviewer_pool=self.reviewer_pool,
        )
        self.guardrail: ScreeningGuardrail | None = None
        if config.guardrails.enabled:
            self.guardrail = ScreeningGuardrail(self, "Guardrail", config=config.guardrails)
            self.guardrail.attach_to(self.functions.gateway.function)
        self.api = WardenApi(
            self,
            "Api",
            gateway=self.functions.gateway.function,
            authorizer=self.functions.authorizer.function,
            usage_plan=config.usage_plan,
        )
        self.review_api = ReviewApi(
            self, "ReviewApi", reviewer=self.functions.reviewer.function, pool=self.reviewer_pool
        )
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            review_dlq=self.review.dlq,
            audit_fallback_dlq=self.audit.fallback_dlq,
            gateway=self.functions.gateway.function,
        )
        self._build_outputs()

    def _build_outputs(self) -> None:
        outputs = {
            constants.OUTPUT_API_URL: (self.api.url, "Base URL for the anthropic SDK (base_url)"),
            constants.OUTPUT_AUDIT_BUCKET: (self.audit.bucket.bucket_name, "Audit records bucket"),
            constants.OUTPUT_TENANTS_TABLE: (self.user_state.tenants_table.table_name, "Tenants table"),
            constants.OUTPUT_USERS_TABLE: (self.user_state.users_table.table_name, "End-user standing and strikes"),
            constants.OUTPUT_CASES_TABLE: (self.review.cases_table.table_name, "Review cases table"),
            constants.OUTPUT_REVIEW_QUEUE_URL: (self.review.queue.queue_url, "Review queue"),
            constants.OUTPUT_REVIEW_PRIORITY_TOPIC_ARN: (
                self.review.priority_topic.topic_arn,
                "New child-safety review cases are published here (subscribe reviewers; review.notify_emails)",
            ),
            constants.OUTPUT_AUDIT_FALLBACK_QUEUE_URL: (self.audit.fallback_queue.queue_url, "Audit fallback queue"),
            constants.OUTPUT_USAGE_PLAN_ID: (
                self.api.usage_plan.usage_plan_id,
                "Usage plan the tenant CLI adds tenant API keys to",
            ),
            constants.OUTPUT_ANTHROPIC_SECRET_ARN: (
                self.secrets.anthropic_api_key_secret.secret_arn,
                f"Anthropic API key secret (placeholder until set): {PUT_ANTHROPIC_KEY_COMMAND}",
            ),
            constants.OUTPUT_REVIEW_API_URL: (self.review_api.url, "Reviewer API (reviewer pool ID tokens only)"),
            constants.OUTPUT_REVIEW_CONSOLE_URL: (self.review_api.console_url, "Reviewer console"),
            constants.OUTPUT_REVIEWER_POOL_ID: (
                self.reviewer_pool.user_pool.user_pool_id,
                "Reviewers' Cognito pool: add reviewers and put them in the 'reviewers' group",
            ),
            constants.OUTPUT_REVIEWER_CLIENT_ID: (
                self.reviewer_pool.app_client.user_pool_client_id,
                "The reviewer console's app client",
            ),
            constants.OUTPUT_ALARM_TOPIC_ARN: (
                self.monitoring.alarm_topic.topic_arn,
                "Subscribe on-call to Warden alarms here",
            ),
        }
        outputs[constants.OUTPUT_REST_API_ID] = (self.api.rest_api.rest_api_id, "REST API id (warden tenants)")
        outputs[constants.OUTPUT_API_STAGE] = (self.api.rest_api.deployment_stage.stage_name, "API stage (usage plans)")
        if self.identity.user_pool is not None and self.identity.app_client is not None:
            outputs[constants.OUTPUT_USER_POOL_ID] = (self.identity.user_pool.user_pool_id, "End-user Cognito pool")
            outputs[constants.OUTPUT_USER_POOL_CLIENT_ID] = (
                self.identity.app_client.user_pool_client_id,
                "App client id of the end-user pool (the ID token's audience)",
            )
            outputs[constants.OUTPUT_USER_POOL_ISSUER] = (str(self.identity.issuer_url), "End-user token issuer (iss)")
        for output_id, (value, description) in outputs.items():
            CfnOutput(self, output_id, value=value, description=description)
