"""The private record of every prompt and completion: the audit bucket, its key, its access logs and fallback path."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct
from warden.config import RetentionConfig

from infra.constructs._sqs import queue_with_dlq

# SQS's maximum: a record waiting to be drained must outlive any outage we can plan for.
# Failed drains of one record before it parks in the DLQ (where an alarm fires) instead of blocking the queue.
FALLBACK_MAX_RECEIVE_COUNT = 5
NONCURRENT_VERSION_DAYS = 30
INCOMPLETE_UPLOAD_DAYS = 7
ACCESS_LOG_PREFIX = "audit-bucket/"


class AuditStorage(Construct):
    """KMS-encrypted, versioned, TLS-only audit bucket with access logging and retention lifecycle.

    A record that could not be written to the bucket goes to the fallback queue (encrypted with the same
    key, since it carries the same content) and is drained into the bucket later; the queue's DLQ keeps
    what the drain cannot write.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        retention: RetentionConfig,
        fallback_visibility_timeout: Duration,
    ) -> None:
        super().__init__(scope, construct_id)
        self.key = self._build_key()
        self.access_log_bucket = self._build_access_log_bucket(retention)
        self.bucket = self._build_audit_bucket(retention)
        self.fallback_queue, self.fallback_dlq = queue_with_dlq(
            self,
            "AuditFallbackQueue",
            "AuditFallbackDlq",
            visibility_timeout=fallback_visibility_timeout,
            max_receive_count=FALLBACK_MAX_RECEIVE_COUNT,
            # It carries whole records (prompts and completions): encrypted with the audit key.
            key=self.key,
        )

    def _build_key(self) -> kms.Key:
        return kms.Key(
            self,
            "AuditKey",
            description="Warden audit records (S3 audit bucket and the audit fallback queue)",
            enable_key_rotation=True,
            # Without the key the retained records are unreadable.
            removal_policy=RemovalPolicy.RETAIN,
        )

    def _build_access_log_bucket(self, retention: RetentionConfig) -> s3.Bucket:
        bucket = s3.Bucket(
            self,
            "AccessLogBucket",
            # S3 server access log delivery only supports SSE-S3 on the target bucket.
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-access-logs",
                    expiration=Duration.days(retention.access_log_days),
                    noncurrent_version_expiration=Duration.days(1),
                    abort_incomplete_multipart_upload_after=Duration.days(INCOMPLETE_UPLOAD_DAYS),
                )
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        return bucket

    def content_bucket(
        self,
        scope: Construct,
        construct_id: str,
        *,
        access_log_prefix: str,
        lifecycle_rules: list[s3.LifecycleRule],
        versioned: bool,
    ) -> s3.Bucket:
        """A retained bucket for prompts and completions (or what is derived from them): the audit key, private,
        TLS only, access-logged into the access log bucket."""
        return s3.Bucket(
            scope,
            construct_id,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            # One data key per bucket instead of per object: far fewer KMS calls on the request path.
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            versioned=versioned,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.access_log_bucket,
            server_access_logs_prefix=access_log_prefix,
            lifecycle_rules=lifecycle_rules,
            removal_policy=RemovalPolicy.RETAIN,
        )

    def _build_audit_bucket(self, retention: RetentionConfig) -> s3.Bucket:
        return self.content_bucket(
            self,
            "AuditBucket",
            access_log_prefix=ACCESS_LOG_PREFIX,
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    # The whole bucket, not just records/: nothing written here may outlive the retention period.
                    id="audit-retention",
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                            transition_after=Duration.days(retention.infrequent_access_after_days),
                        )
                    ],
                    expiration=Duration.days(retention.audit_days),
                    noncurrent_version_expiration=Duration.days(NONCURRENT_VERSION_DAYS),
                ),
                s3.LifecycleRule(
                    id="abort-incomplete-uploads",
                    abort_incomplete_multipart_upload_after=Duration.days(INCOMPLETE_UPLOAD_DAYS),
                ),
            ],
        )
