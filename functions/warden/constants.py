"""One place for every name shared by the functions, the CDK stack, the local stack and the tests."""

from __future__ import annotations

from dataclasses import dataclass

SERVICE_NAME = "warden"
METRICS_NAMESPACE = "Warden"
# Custom metrics of the gateway (namespace METRICS_NAMESPACE, dimension service=SERVICE_NAME), one per stored record.
METRIC_REQUESTS_RECORDED = "RequestsRecorded"
METRIC_REQUESTS_BLOCKED = "RequestsBlocked"
METRIC_REQUESTS_FLAGGED = "RequestsFlagged"
METRIC_MODERATOR_FAILURES = "ModeratorFailures"

# --- Environment variables read by the functions' settings -------------------------------------
ENV_CONFIG = "WARDEN_CONFIG"  # JSON of warden.config.RuntimeConfig
ENV_AUDIT_BUCKET = "WARDEN_AUDIT_BUCKET"
ENV_AUDIT_FALLBACK_QUEUE_URL = "WARDEN_AUDIT_FALLBACK_QUEUE_URL"
ENV_TENANTS_TABLE = "WARDEN_TENANTS_TABLE"
ENV_USERS_TABLE = "WARDEN_USERS_TABLE"
ENV_CASES_TABLE = "WARDEN_CASES_TABLE"
ENV_IDEMPOTENCY_TABLE = "WARDEN_IDEMPOTENCY_TABLE"
ENV_REVIEW_QUEUE_URL = "WARDEN_REVIEW_QUEUE_URL"
ENV_REVIEW_PRIORITY_TOPIC_ARN = "WARDEN_REVIEW_PRIORITY_TOPIC_ARN"  # SNS topic told of new child-safety cases
ENV_USER_HASH_SECRET_ARN = "WARDEN_USER_HASH_SECRET_ARN"
ENV_ANTHROPIC_SECRET_ARN = "WARDEN_ANTHROPIC_SECRET_ARN"
ENV_ANTHROPIC_BASE_URL = "WARDEN_ANTHROPIC_BASE_URL"
ENV_BEDROCK_BASE_URL = "WARDEN_BEDROCK_BASE_URL"
ENV_AUTHORIZER_CACHE_SECONDS = "WARDEN_AUTHORIZER_CACHE_SECONDS"
ENV_GUARDRAIL_ID = "WARDEN_GUARDRAIL_ID"  # Bedrock guardrail id or ARN (guardrails enabled only)
ENV_GUARDRAIL_VERSION = "WARDEN_GUARDRAIL_VERSION"
ENV_GUARDRAIL_TOPIC_CATEGORIES = "WARDEN_GUARDRAIL_TOPIC_CATEGORIES"  # JSON: denied topic name -> category id
ENV_GUARDRAIL_IMAGES = "WARDEN_GUARDRAIL_IMAGES"  # "true": the guardrail reads the end user's images too
ENV_REVIEWER_AUTH = "WARDEN_REVIEWER_AUTH"  # "cognito" (deployed) or "local": how the console signs reviewers in
ENV_REVIEWER_POOL_ID = "WARDEN_REVIEWER_POOL_ID"
ENV_REVIEWER_CLIENT_ID = "WARDEN_REVIEWER_CLIENT_ID"
ENV_IDENTITY = "WARDEN_IDENTITY"  # JSON of warden.config.IdentityRuntime (authorizer only)
ENV_AWS_ENDPOINT_URL = "AWS_ENDPOINT_URL"  # honoured by boto3 itself; the local stack points it at moto

# Local stack
ENV_LOCAL_PORT = "WARDEN_PORT"
ENV_LOCAL_AWS_PORT = "WARDEN_AWS_PORT"
ENV_LOCAL_API_KEY = "WARDEN_LOCAL_API_KEY"
ENV_LOCAL_REVIEWER_KEY = "WARDEN_LOCAL_REVIEWER_KEY"
DEFAULT_LOCAL_PORT = 8787
DEFAULT_LOCAL_AWS_PORT = 5055
# An OIDC issuer the local stack trusts for JWT tenants (e.g. a test's own JWKS server); audience and JWKS URL.
ENV_LOCAL_OIDC_ISSUER = "WARDEN_LOCAL_OIDC_ISSUER"
ENV_LOCAL_OIDC_AUDIENCE = "WARDEN_LOCAL_OIDC_AUDIENCE"
ENV_LOCAL_OIDC_JWKS_URI = "WARDEN_LOCAL_OIDC_JWKS_URI"
LOCAL_OIDC_ISSUER_NAME = "local"  # what tenants name that issuer in `trusted_issuers`
DEFAULT_LOCAL_API_KEY = "warden-local-key"
DEFAULT_LOCAL_REVIEWER_KEY = "warden-local-reviewer"
LOCAL_REGION = "us-east-1"
LOCAL_STACK_NAME = "Warden-local"
LOCAL_DEMO_TENANT_ID = "demo"

# --- HTTP ---------------------------------------------------------------------------------------
HEADER_REQUEST_ID = "warden-request-id"
HEADER_WARNING = "warden-warning"
HEADER_RETRY_AFTER = "retry-after"  # seconds; the anthropic SDK honours it
HEADER_API_KEY = "x-api-key"
HEADER_AUTHORIZATION = "authorization"
# The end user's token (JWT tenants), for SDK versions that send the tenant key as `Authorization: Bearer`.
HEADER_USER_TOKEN = "warden-user-token"

# The tenant API's routes (method, resource). The CDK API construct and the local API adapter both serve these.
TENANT_ROUTES: tuple[tuple[str, str], ...] = (
    ("POST", "/v1/messages"),
    ("GET", "/v1/users/{user_id}"),
    ("POST", "/v1/users/{user_id}/policy-acceptance"),
)

# The reviewer API's routes (method, resource): a separate API, never reachable with a tenant key. The console
# page and its sign-in settings need no credential (they hold no data); every other route needs a reviewer token.
REVIEW_PATH_PREFIX = "/review/"
REVIEW_CONSOLE_ROUTES: tuple[tuple[str, str], ...] = (
    ("GET", "/review/console"),
    ("GET", "/review/console/config"),
)
REVIEW_ROUTES: tuple[tuple[str, str], ...] = (
    ("GET", "/review/me"),
    ("GET", "/review/cases"),
    ("GET", "/review/cases/{case_id}"),
    ("POST", "/review/cases/{case_id}/claim"),
    ("POST", "/review/cases/{case_id}/decision"),
    ("GET", "/review/users"),
    ("GET", "/review/users/{user_hash}"),
    ("POST", "/review/users/{user_hash}/suspend"),
    ("POST", "/review/users/{user_hash}/reinstate"),
    ("POST", "/review/users/{user_hash}/clear-strikes"),
    ("GET", "/review/stats/false-positives"),
)
REVIEWER_AUTH_LOCAL = "local"
REVIEWER_AUTH_COGNITO = "cognito"
# The local stack's reviewer (what a Cognito ID token's claims say deployed).
LOCAL_REVIEWER_ID = "local-reviewer"

# Keys the authorizer puts in the API Gateway authorizer context.
AUTH_CONTEXT_TENANT_ID = "tenant_id"
AUTH_CONTEXT_PROFILE = "profile"  # the tenant's screening profile
AUTH_CONTEXT_SETTINGS = "tenant_settings"  # JSON of `Tenant.settings()`: the tenant's per-tenant overrides
AUTH_CONTEXT_END_USER = "end_user_sub"  # JWT tenants: the verified token's `sub` (the gateway hashes it)

# --- Audit bucket layout ------------------------------------------------------------------------
AUDIT_RECORDS_PREFIX = "records/"


def audit_record_key(request_id: str, dt: str, hour: str) -> str:
    """Hive-style partitioned key so Athena can project partitions."""
    return f"{AUDIT_RECORDS_PREFIX}dt={dt}/hour={hour}/{request_id}.json"


# --- DynamoDB key shapes --------------------------------------------------------------------------
@dataclass(frozen=True)
class TableShape:
    """Partition/sort key names and the TTL attribute of one table."""

    partition_key: str
    sort_key: str | None = None
    ttl_attribute: str | None = None


# Tenants: one item per tenant API key, keyed by the SHA-256 hex of the key.
TENANTS_TABLE = TableShape(partition_key="key_hash")
# Tenant administration finds a tenant's key items by tenant id (never used on the request path).
TENANTS_ID_INDEX = "by-tenant-id"
TENANTS_ID_INDEX_PK = "tenant_id"
# Users: the standing item (sk = USER_STATE_SK) and one item per strike (sk = STRIKE#...).
USERS_TABLE = TableShape(partition_key="user_hash", sort_key="sk", ttl_attribute="expires_at")
USER_STATE_SK = "STATE"
STRIKE_SK_PREFIX = "STRIKE#"
# Reviewers list users by violations: a sparse index of the standing items of users who ever had a strike, all
# under one partition value, sorted by their count of strikes not dismissed.
USERS_VIOLATIONS_INDEX = "by-violations"
USERS_VIOLATIONS_INDEX_PK = "violator"
USERS_VIOLATIONS_INDEX_PK_VALUE = "user"
USERS_VIOLATIONS_INDEX_SK = "violations"
# Review cases: one item per (request id, source).
CASES_TABLE = TableShape(partition_key="case_id")
CASES_STATUS_INDEX = "by-status"
CASES_STATUS_INDEX_PK = "status"
CASES_STATUS_INDEX_SK = "priority_created"
# Every case index sorts on the same "<priority:02d>#<created_at>" key: highest priority, then oldest, first.
CASES_TENANT_INDEX = "by-tenant"
CASES_TENANT_INDEX_PK = "tenant_id"
CASES_USER_INDEX = "by-user"
CASES_USER_INDEX_PK = "user_hash"
# Case lists: index name -> its partition key (the sort key is CASES_STATUS_INDEX_SK for all of them).
CASES_INDEXES: dict[str, str] = {
    CASES_STATUS_INDEX: CASES_STATUS_INDEX_PK,
    CASES_TENANT_INDEX: CASES_TENANT_INDEX_PK,
    CASES_USER_INDEX: CASES_USER_INDEX_PK,
}
# The reviewer action log shares the cases table: one immutable item per action (case_id = ACTION#<action id>),
# listed per user through one sparse index sorted by action id (time-sortable); a case's actions are its user's,
# filtered by case. One index, not two: CloudFormation adds at most one GSI to an existing table per update.
REVIEWER_ACTION_KEY_PREFIX = "ACTION#"
ACTIONS_USER_INDEX = "actions-by-user"
ACTIONS_USER_INDEX_PK = "action_user_hash"
ACTIONS_INDEX_SK = "action_id"
ACTIONS_CASE_ATTRIBUTE = "action_case_id"
# False-positive counters: one item in the cases table, one number attribute per (category, screener).
FALSE_POSITIVES_KEY = "STATS#false-positives"
# Powertools idempotency persistence layer (its own fixed key name).
IDEMPOTENCY_TABLE = TableShape(partition_key="id", ttl_attribute="expiration")

# --- Local resource names (the CDK stack lets CloudFormation name its resources) ---------------
LOCAL_AUDIT_BUCKET = "warden-local-audit"
LOCAL_TENANTS_TABLE = "warden-local-tenants"
LOCAL_USERS_TABLE = "warden-local-users"
LOCAL_CASES_TABLE = "warden-local-review-cases"
LOCAL_IDEMPOTENCY_TABLE = "warden-local-idempotency"
LOCAL_REVIEW_QUEUE = "warden-local-review"
LOCAL_REVIEW_DLQ = "warden-local-review-dlq"
LOCAL_REVIEW_PRIORITY_TOPIC = "warden-local-review-priority"
LOCAL_AUDIT_FALLBACK_QUEUE = "warden-local-audit-fallback"
LOCAL_AUDIT_FALLBACK_DLQ = "warden-local-audit-fallback-dlq"
LOCAL_USER_HASH_SECRET = "warden-local/user-hash-key"
LOCAL_ANTHROPIC_SECRET = "warden-local/anthropic-api-key"
LOCAL_REST_API_NAME = "warden-local-api"
LOCAL_STAGE_NAME = "prod"

# Review queue redrive: messages that fail this many times land in the DLQ.
REVIEW_MAX_RECEIVE_COUNT = 5

# --- CloudFormation stack outputs (read by the CLI to find a deployed stack) -------------------
OUTPUT_API_URL = "ApiUrl"
OUTPUT_AUDIT_BUCKET = "AuditBucketName"
OUTPUT_TENANTS_TABLE = "TenantsTableName"
OUTPUT_USERS_TABLE = "UsersTableName"
OUTPUT_CASES_TABLE = "ReviewCasesTableName"
OUTPUT_REVIEW_QUEUE_URL = "ReviewQueueUrl"
OUTPUT_REVIEW_PRIORITY_TOPIC_ARN = "ReviewPriorityTopicArn"
OUTPUT_AUDIT_FALLBACK_QUEUE_URL = "AuditFallbackQueueUrl"
OUTPUT_USAGE_PLAN_ID = "DefaultUsagePlanId"
OUTPUT_ANTHROPIC_SECRET_ARN = "AnthropicApiKeySecretArn"
OUTPUT_ALARM_TOPIC_ARN = "AlarmTopicArn"
OUTPUT_REVIEW_API_URL = "ReviewApiUrl"
OUTPUT_REVIEW_CONSOLE_URL = "ReviewConsoleUrl"
OUTPUT_REVIEWER_POOL_ID = "ReviewerPoolId"
OUTPUT_REVIEWER_CLIENT_ID = "ReviewerPoolClientId"
OUTPUT_REST_API_ID = "RestApiId"
OUTPUT_API_STAGE = "ApiStageName"
OUTPUT_ATHENA_WORKGROUP = "AthenaWorkGroup"  # self-evaluation: workgroup, Glue database, reader policy
OUTPUT_ATHENA_DATABASE = "AthenaDatabase"
OUTPUT_SELF_EVALUATION_POLICY_ARN = "SelfEvaluationPolicyArn"
OUTPUT_USER_POOL_ID = "EndUserPoolId"  # identity.cognito.create only
OUTPUT_USER_POOL_CLIENT_ID = "EndUserPoolClientId"
OUTPUT_USER_POOL_ISSUER = "EndUserTokenIssuer"
