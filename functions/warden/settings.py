"""Per-function settings: the only code that reads the environment. Validated at cold start, cached."""

from __future__ import annotations

from functools import cache
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from warden import constants as c
from warden.config import IdentityRuntime, RuntimeConfig
from warden.taxonomy import Category


class _Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class GatewaySettings(_Settings):
    config: RuntimeConfig = Field(validation_alias=c.ENV_CONFIG)
    audit_bucket: str = Field(validation_alias=c.ENV_AUDIT_BUCKET)
    audit_fallback_queue_url: str = Field(validation_alias=c.ENV_AUDIT_FALLBACK_QUEUE_URL)
    users_table: str = Field(validation_alias=c.ENV_USERS_TABLE)
    review_queue_url: str = Field(validation_alias=c.ENV_REVIEW_QUEUE_URL)
    user_hash_secret_arn: str = Field(validation_alias=c.ENV_USER_HASH_SECRET_ARN)
    anthropic_secret_arn: str | None = Field(default=None, validation_alias=c.ENV_ANTHROPIC_SECRET_ARN)
    anthropic_base_url: str | None = Field(default=None, validation_alias=c.ENV_ANTHROPIC_BASE_URL)
    bedrock_base_url: str | None = Field(default=None, validation_alias=c.ENV_BEDROCK_BASE_URL)
    guardrail_id: str | None = Field(default=None, validation_alias=c.ENV_GUARDRAIL_ID)
    guardrail_version: str | None = Field(default=None, validation_alias=c.ENV_GUARDRAIL_VERSION)
    guardrail_topic_categories: dict[str, Category] = Field(
        default_factory=dict, validation_alias=c.ENV_GUARDRAIL_TOPIC_CATEGORIES
    )
    guardrail_images: bool = Field(default=False, validation_alias=c.ENV_GUARDRAIL_IMAGES)
    aws_region: str | None = Field(default=None, validation_alias="AWS_REGION")


class AuthorizerSettings(_Settings):
    tenants_table: str = Field(validation_alias=c.ENV_TENANTS_TABLE)
    cache_seconds: int = Field(default=60, ge=0, le=3600, validation_alias=c.ENV_AUTHORIZER_CACHE_SECONDS)
    identity: IdentityRuntime = Field(default_factory=IdentityRuntime, validation_alias=c.ENV_IDENTITY)


class ReviewSettings(_Settings):
    config: RuntimeConfig = Field(validation_alias=c.ENV_CONFIG)
    cases_table: str = Field(validation_alias=c.ENV_CASES_TABLE)
    idempotency_table: str = Field(validation_alias=c.ENV_IDEMPOTENCY_TABLE)
    priority_topic_arn: str = Field(validation_alias=c.ENV_REVIEW_PRIORITY_TOPIC_ARN)


class ReviewerSettings(_Settings):
    config: RuntimeConfig = Field(validation_alias=c.ENV_CONFIG)
    cases_table: str = Field(validation_alias=c.ENV_CASES_TABLE)
    users_table: str = Field(validation_alias=c.ENV_USERS_TABLE)
    tenants_table: str = Field(validation_alias=c.ENV_TENANTS_TABLE)
    audit_bucket: str = Field(validation_alias=c.ENV_AUDIT_BUCKET)
    auth: Literal["cognito", "local"] = Field(default="cognito", validation_alias=c.ENV_REVIEWER_AUTH)
    user_pool_id: str | None = Field(default=None, validation_alias=c.ENV_REVIEWER_POOL_ID)
    client_id: str | None = Field(default=None, validation_alias=c.ENV_REVIEWER_CLIENT_ID)
    aws_region: str | None = Field(default=None, validation_alias="AWS_REGION")


class AuditDrainSettings(_Settings):
    audit_bucket: str = Field(validation_alias=c.ENV_AUDIT_BUCKET)
    audit_fallback_queue_url: str = Field(default="", validation_alias=c.ENV_AUDIT_FALLBACK_QUEUE_URL)


@cache
def gateway_settings() -> GatewaySettings:
    return GatewaySettings()


@cache
def authorizer_settings() -> AuthorizerSettings:
    return AuthorizerSettings()


@cache
def review_settings() -> ReviewSettings:
    return ReviewSettings()


@cache
def reviewer_settings() -> ReviewerSettings:
    return ReviewerSettings()


@cache
def audit_drain_settings() -> AuditDrainSettings:
    return AuditDrainSettings()
