"""Create, in any AWS endpoint (the moto server locally), the resources the CDK stack defines.

Names and key shapes come from `warden.constants`, the same module the CDK constructs use.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
from warden import constants as c
from warden.adapters.tenant_store import DynamoTenantStore
from warden.config import DEFAULT_PROFILE
from warden.domain.identity import hash_api_key
from warden.models import Tenant


@dataclass(frozen=True)
class LocalResources:
    region: str
    endpoint_url: str | None
    audit_bucket: str
    tenants_table: str
    users_table: str
    cases_table: str
    idempotency_table: str
    review_queue_url: str
    review_dlq_url: str
    review_priority_topic_arn: str
    audit_fallback_queue_url: str
    audit_fallback_dlq_url: str
    user_hash_secret_arn: str
    anthropic_secret_arn: str | None
    usage_plan_id: str
    rest_api_id: str = ""
    stage_name: str = c.LOCAL_STAGE_NAME

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _client(service: str, endpoint_url: str | None, region: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint_url, region_name=region)  # type: ignore[call-overload]


def _create_bucket(s3: Any, bucket: str) -> None:
    s3.create_bucket(Bucket=bucket)
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
        },
    )


def _create_table(dynamodb: Any, name: str, shape: c.TableShape, gsi: dict[str, Any] | None = None) -> None:
    keys = [{"AttributeName": shape.partition_key, "KeyType": "HASH"}]
    attributes = [{"AttributeName": shape.partition_key, "AttributeType": "S"}]
    if shape.sort_key:
        keys.append({"AttributeName": shape.sort_key, "KeyType": "RANGE"})
        attributes.append({"AttributeName": shape.sort_key, "AttributeType": "S"})
    kwargs: dict[str, Any] = {
        "TableName": name,
        "KeySchema": keys,
        "AttributeDefinitions": attributes,
        "BillingMode": "PAY_PER_REQUEST",
    }
    if gsi:
        kwargs["GlobalSecondaryIndexes"] = gsi["indexes"]
        kwargs["AttributeDefinitions"] = attributes + gsi["attributes"]
    dynamodb.create_table(**kwargs)
    if shape.ttl_attribute:
        dynamodb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": shape.ttl_attribute}
        )


def _users_gsi() -> dict[str, Any]:
    """The reviewers' users-by-violations index (as in the CDK stack)."""
    return {
        "indexes": [
            {
                "IndexName": c.USERS_VIOLATIONS_INDEX,
                "KeySchema": [
                    {"AttributeName": c.USERS_VIOLATIONS_INDEX_PK, "KeyType": "HASH"},
                    {"AttributeName": c.USERS_VIOLATIONS_INDEX_SK, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        "attributes": [
            {"AttributeName": c.USERS_VIOLATIONS_INDEX_PK, "AttributeType": "S"},
            {"AttributeName": c.USERS_VIOLATIONS_INDEX_SK, "AttributeType": "N"},
        ],
    }


def _cases_gsi() -> dict[str, Any]:
    """The status, tenant and user indexes, all sorted by priority then creation time, and the reviewer action log's
    index (as in the CDK stack)."""
    partition_keys = sorted(set(c.CASES_INDEXES.values()))
    return {
        "indexes": [
            {
                "IndexName": index,
                "KeySchema": [
                    {"AttributeName": partition_key, "KeyType": "HASH"},
                    {"AttributeName": c.CASES_STATUS_INDEX_SK, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index, partition_key in c.CASES_INDEXES.items()
        ]
        + [
            {
                "IndexName": c.ACTIONS_USER_INDEX,
                "KeySchema": [
                    {"AttributeName": c.ACTIONS_USER_INDEX_PK, "KeyType": "HASH"},
                    {"AttributeName": c.ACTIONS_INDEX_SK, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        "attributes": [
            *({"AttributeName": name, "AttributeType": "S"} for name in partition_keys),
            {"AttributeName": c.CASES_STATUS_INDEX_SK, "AttributeType": "S"},
            {"AttributeName": c.ACTIONS_USER_INDEX_PK, "AttributeType": "S"},
            {"AttributeName": c.ACTIONS_INDEX_SK, "AttributeType": "S"},
        ],
    }


def _tenants_gsi() -> dict[str, Any]:
    return {
        "indexes": [
            {
                "IndexName": c.TENANTS_ID_INDEX,
                "KeySchema": [{"AttributeName": c.TENANTS_ID_INDEX_PK, "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        "attributes": [{"AttributeName": c.TENANTS_ID_INDEX_PK, "AttributeType": "S"}],
    }


def _create_rest_api(apigateway: Any) -> tuple[str, str]:
    """The tenant API's REST API and stage, so per-tenant usage plans attach to a stage as in the deployed stack."""
    api_id = apigateway.create_rest_api(name=c.LOCAL_REST_API_NAME)["id"]
    root_id = apigateway.get_resources(restApiId=api_id)["items"][0]["id"]
    apigateway.put_method(restApiId=api_id, resourceId=root_id, httpMethod="ANY", authorizationType="NONE")
    apigateway.put_integration(restApiId=api_id, resourceId=root_id, httpMethod="ANY", type="MOCK")
    apigateway.create_deployment(restApiId=api_id, stageName=c.LOCAL_STAGE_NAME)
    return api_id, c.LOCAL_STAGE_NAME


def _create_queue_with_dlq(sqs: Any, name: str, dlq_name: str, visibility_timeout: int) -> tuple[str, str]:
    dlq_url = sqs.create_queue(QueueName=dlq_name, Attributes={"MessageRetentionPeriod": "1209600"})["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": str(visibility_timeout),
            "MessageRetentionPeriod": "1209600",
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(c.REVIEW_MAX_RECEIVE_COUNT)}
            ),
        },
    )["QueueUrl"]
    return url, dlq_url


def provision(
    endpoint_url: str | None,
    region: str = c.LOCAL_REGION,
    anthropic_api_key: str | None = None,
    visibility_timeout: int = 30,
) -> LocalResources:
    """Create every resource; call once on an empty endpoint."""
    s3 = _client("s3", endpoint_url, region)
    dynamodb = _client("dynamodb", endpoint_url, region)
    sqs = _client("sqs", endpoint_url, region)
    secretsmanager = _client("secretsmanager", endpoint_url, region)
    apigateway = _client("apigateway", endpoint_url, region)
    sns = _client("sns", endpoint_url, region)

    _create_bucket(s3, c.LOCAL_AUDIT_BUCKET)
    _create_table(dynamodb, c.LOCAL_TENANTS_TABLE, c.TENANTS_TABLE, gsi=_tenants_gsi())
    _create_table(dynamodb, c.LOCAL_USERS_TABLE, c.USERS_TABLE, gsi=_users_gsi())
    _create_table(dynamodb, c.LOCAL_CASES_TABLE, c.CASES_TABLE, gsi=_cases_gsi())
    _create_table(dynamodb, c.LOCAL_IDEMPOTENCY_TABLE, c.IDEMPOTENCY_TABLE)
    review_url, review_dlq_url = _create_queue_with_dlq(
        sqs, c.LOCAL_REVIEW_QUEUE, c.LOCAL_REVIEW_DLQ, visibility_timeout
    )
    fallback_url, fallback_dlq_url = _create_queue_with_dlq(
        sqs, c.LOCAL_AUDIT_FALLBACK_QUEUE, c.LOCAL_AUDIT_FALLBACK_DLQ, visibility_timeout
    )
    priority_topic_arn = sns.create_topic(Name=c.LOCAL_REVIEW_PRIORITY_TOPIC)["TopicArn"]
    user_hash_arn = secretsmanager.create_secret(Name=c.LOCAL_USER_HASH_SECRET, SecretString=secrets.token_hex(32))[
        "ARN"
    ]
    anthropic_arn = None
    if anthropic_api_key:
        anthropic_arn = secretsmanager.create_secret(Name=c.LOCAL_ANTHROPIC_SECRET, SecretString=anthropic_api_key)[
            "ARN"
        ]
    rest_api_id, stage_name = _create_rest_api(apigateway)
    usage_plan_id = apigateway.create_usage_plan(
        name="warden-local-default",
        throttle={"rateLimit": 50.0, "burstLimit": 100},
        apiStages=[{"apiId": rest_api_id, "stage": stage_name}],
    )["id"]
    return LocalResources(
        region=region,
        endpoint_url=endpoint_url,
        audit_bucket=c.LOCAL_AUDIT_BUCKET,
        tenants_table=c.LOCAL_TENANTS_TABLE,
        users_table=c.LOCAL_USERS_TABLE,
        cases_table=c.LOCAL_CASES_TABLE,
        idempotency_table=c.LOCAL_IDEMPOTENCY_TABLE,
        review_queue_url=review_url,
        review_dlq_url=review_dlq_url,
        review_priority_topic_arn=priority_topic_arn,
        audit_fallback_queue_url=fallback_url,
        audit_fallback_dlq_url=fallback_dlq_url,
        user_hash_secret_arn=user_hash_arn,
        anthropic_secret_arn=anthropic_arn,
        usage_plan_id=usage_plan_id,
        rest_api_id=rest_api_id,
        stage_name=stage_name,
    )


def create_tenant(
    resources: LocalResources, tenant_id: str, api_key: str, name: str | None = None, profile: str = DEFAULT_PROFILE
) -> Tenant:
    """Register a tenant: an API Gateway key in the default usage plan, and the tenant item keyed by key hash.

    `profile` must be a configured screening profile (check it with `ScreeningConfig.require_profile`).
    """
    apigateway = _client("apigateway", resources.endpoint_url, resources.region)
    usage_key = secrets.token_urlsafe(30)
    key_id = apigateway.create_api_key(name=f"warden-tenant-{tenant_id}", enabled=True, value=usage_key)["id"]
    apigateway.create_usage_plan_key(usagePlanId=resources.usage_plan_id, keyId=key_id, keyType="API_KEY")
    tenant = Tenant(tenant_id=tenant_id, name=name or tenant_id, usage_key=usage_key, profile=profile)
    DynamoTenantStore(resources.tenants_table).put(
        hash_api_key(api_key), tenant, datetime.now(UTC).isoformat(timespec="seconds")
    )
    return tenant


def function_environment(
    resources: LocalResources, runtime_config_json: str, cache_seconds: int, identity_json: str | None = None
) -> dict[str, str]:
    """The environment variables the CDK stack gives the functions, with local values."""
    env = {
        c.ENV_CONFIG: runtime_config_json,
        c.ENV_AUDIT_BUCKET: resources.audit_bucket,
        c.ENV_AUDIT_FALLBACK_QUEUE_URL: resources.audit_fallback_queue_url,
        c.ENV_TENANTS_TABLE: resources.tenants_table,
        c.ENV_USERS_TABLE: resources.users_table,
        c.ENV_CASES_TABLE: resources.cases_table,
        c.ENV_IDEMPOTENCY_TABLE: resources.idempotency_table,
        c.ENV_REVIEW_QUEUE_URL: resources.review_queue_url,
        c.ENV_REVIEW_PRIORITY_TOPIC_ARN: resources.review_priority_topic_arn,
        c.ENV_USER_HASH_SECRET_ARN: resources.user_hash_secret_arn,
        c.ENV_AUTHORIZER_CACHE_SECONDS: str(cache_seconds),
        c.ENV_REVIEWER_AUTH: c.REVIEWER_AUTH_LOCAL,
        "POWERTOOLS_SERVICE_NAME": c.SERVICE_NAME,
        "POWERTOOLS_METRICS_NAMESPACE": c.METRICS_NAMESPACE,
        # No X-Ray daemon locally.
        "POWERTOOLS_TRACE_DISABLED": "true",
        "AWS_REGION": resources.region,
        "AWS_DEFAULT_REGION": resources.region,
    }
    if resources.endpoint_url:
        env[c.ENV_AWS_ENDPOINT_URL] = resources.endpoint_url
    if resources.anthropic_secret_arn:
        env[c.ENV_ANTHROPIC_SECRET_ARN] = resources.anthropic_secret_arn
    if identity_json:
        env[c.ENV_IDENTITY] = identity_json
    return env
