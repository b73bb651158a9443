"""The one way this stack builds an SNS topic: encrypted with its own rotated KMS key, TLS-only."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct


def encrypted_topic(
    scope: Construct, construct_id: str, *, display_name: str, publishing_services: tuple[str, ...] = ()
) -> sns.Topic:
    """A topic under a customer-managed key; `publishing_services` (e.g. CloudWatch) may use the key to publish."""
    key = kms.Key(scope, f"{construct_id}Key", description=display_name, enable_key_rotation=True)
    for service in publishing_services:
        key.grant(iam.ServicePrincipal(service), "kms:Decrypt", "kms:GenerateDataKey*")
    return sns.Topic(scope, construct_id, display_name=display_name, master_key=key, enforce_ssl=True)
