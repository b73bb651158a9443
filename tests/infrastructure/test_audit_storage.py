"""The audit bucket keeps every prompt and completion private, encrypted, versioned and only as long as configured."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Match, Template

from infra.constructs.audit_storage import FALLBACK_MAX_RECEIVE_COUNT
from tests.infrastructure.synth import SynthesizedStack, resources_of_type


def _audit_bucket(synthesized: SynthesizedStack) -> dict[str, Any]:
    return synthesized.resources[synthesized.logical_id(synthesized.stack.audit.bucket)]


def _access_log_bucket(synthesized: SynthesizedStack) -> dict[str, Any]:
    return synthesized.resources[synthesized.logical_id(synthesized.stack.audit.access_log_bucket)]


def test_audit_bucket_is_encrypted_with_the_rotating_audit_key(synthesized: SynthesizedStack) -> None:
    key_id = synthesized.logical_id(synthesized.stack.audit.key)

    encryption = _audit_bucket(synthesized)["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]

    assert encryption == [
        {
            "BucketKeyEnabled": True,
            "ServerSideEncryptionByDefault": {
                "SSEAlgorithm": "aws:kms",
                "KMSMasterKeyID": {"Fn::GetAtt": [key_id, "Arn"]},
            },
        }
    ]
    assert synthesized.resources[key_id]["Properties"]["EnableKeyRotation"] is True


def test_audit_bucket_and_key_survive_stack_deletion(synthesized: SynthesizedStack) -> None:
    for construct in (synthesized.stack.audit.bucket, synthesized.stack.audit.key):
        resource = synthesized.resources[synthesized.logical_id(construct)]
        assert resource["DeletionPolicy"] == "Retain"
        assert resource["UpdateReplacePolicy"] == "Retain"


def test_buckets_block_all_public_access_and_enforce_owner(synthesized: SynthesizedStack) -> None:
    for bucket in (_audit_bucket(synthesized), _access_log_bucket(synthesized)):
        properties = bucket["Properties"]
        assert properties["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert properties["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
        assert properties["VersioningConfiguration"] == {"Status": "Enabled"}


def test_buckets_refuse_requests_without_tls(synthesized: SynthesizedStack, template: Template) -> None:
    for bucket in (synthesized.stack.audit.bucket, synthesized.stack.audit.access_log_bucket):
        template.has_resource_properties(
            "AWS::S3::BucketPolicy",
            {
                "Bucket": {"Ref": synthesized.logical_id(bucket)},
                "PolicyDocument": {
                    "Statement": Match.array_with(
                        [
                            Match.object_like(
                                {
                                    "Effect": "Deny",
                                    "Action": "s3:*",
                                    "Principal": {"AWS": "*"},
                                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                                }
                            )
                        ]
                    )
                },
            },
        )


def test_audit_bucket_logs_access_to_the_separate_log_bucket(synthesized: SynthesizedStack) -> None:
    logging = _audit_bucket(synthesized)["Properties"]["LoggingConfiguration"]

    assert logging["DestinationBucketName"] == {
        "Ref": synthesized.logical_id(synthesized.stack.audit.access_log_bucket)
    }
    assert logging["LogFilePrefix"]


def test_access_log_bucket_uses_s3_managed_encryption(synthesized: SynthesizedStack) -> None:
    encryption = _access_log_bucket(synthesized)["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]

    assert encryption == [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]


def test_audit_lifecycle_follows_the_retention_config(synthesized: SynthesizedStack) -> None:
    retention = synthesized.config.retention

    rules = _audit_bucket(synthesized)["Properties"]["LifecycleConfiguration"]["Rules"]
    retention_rule = next(rule for rule in rules if "ExpirationInDays" in rule)

    assert retention_rule["Status"] == "Enabled"
    assert "Prefix" not in retention_rule  # the whole bucket, nothing outlives retention
    assert retention_rule["ExpirationInDays"] == retention.audit_days
    assert retention_rule["Transitions"] == [
        {"StorageClass": "STANDARD_IA", "TransitionInDays": retention.infrequent_access_after_days}
    ]
    assert retention_rule["NoncurrentVersionExpiration"]["NoncurrentDays"] > 0


def test_access_logs_expire_after_the_configured_days(synthesized: SynthesizedStack) -> None:
    rules = _access_log_bucket(synthesized)["Properties"]["LifecycleConfiguration"]["Rules"]

    assert [rule["ExpirationInDays"] for rule in rules] == [synthesized.config.retention.access_log_days]


def test_audit_fallback_queue_is_encrypted_with_the_audit_key_and_redrives(synthesized: SynthesizedStack) -> None:
    audit = synthesized.stack.audit
    key_arn = {"Fn::GetAtt": [synthesized.logical_id(audit.key), "Arn"]}

    queue = synthesized.resources[synthesized.logical_id(audit.fallback_queue)]["Properties"]
    dlq = synthesized.resources[synthesized.logical_id(audit.fallback_dlq)]["Properties"]

    assert queue["KmsMasterKeyId"] == key_arn
    assert dlq["KmsMasterKeyId"] == key_arn
    assert queue["MessageRetentionPeriod"] == dlq["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [synthesized.logical_id(audit.fallback_dlq), "Arn"]},
        "maxReceiveCount": FALLBACK_MAX_RECEIVE_COUNT,
    }


def test_every_queue_refuses_requests_without_tls(resources: dict[str, Any]) -> None:
    queues = resources_of_type(resources, "AWS::SQS::Queue")
    secured: set[str] = set()
    for policy in resources_of_type(resources, "AWS::SQS::QueuePolicy").values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        if any(
            s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
            for s in statements
        ):
            secured.update(ref["Ref"] for ref in policy["Properties"]["Queues"])

    assert secured == set(queues)
