"""With provider bedrock and `bedrock_invocation_logging`, Bedrock logs invocations into the audit bucket."""

from __future__ import annotations

import json

from infra.constructs.bedrock_logging import BEDROCK, KEY_PREFIX
from tests.infrastructure.synth import SynthesizedStack, resources_of_type


def test_custom_resource_puts_the_logging_configuration_into_the_audit_bucket(
    bedrock_synthesized: SynthesizedStack,
) -> None:
    (resource,) = resources_of_type(bedrock_synthesized.resources, "Custom::AWS").values()
    create = json.dumps(bedrock_synthesized.stack.resolve(resource["Properties"]["Create"]))
    bucket_id = bedrock_synthesized.logical_id(bedrock_synthesized.stack.audit.bucket)

    assert "PutModelInvocationLoggingConfiguration" in create
    assert bucket_id in create and KEY_PREFIX in create
    assert "DeleteModelInvocationLoggingConfiguration" in json.dumps(resource["Properties"]["Delete"])


def test_bedrock_may_write_only_its_prefix_and_only_for_this_account(bedrock_synthesized: SynthesizedStack) -> None:
    (policy,) = [
        p
        for p in resources_of_type(bedrock_synthesized.resources, "AWS::S3::BucketPolicy").values()
        if BEDROCK in json.dumps(p)
    ]
    (statement,) = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if BEDROCK in json.dumps(s)]

    assert statement["Action"] == "s3:PutObject"
    assert f"/{KEY_PREFIX}/*" in json.dumps(statement["Resource"])
    assert "aws:SourceAccount" in statement["Condition"]["StringEquals"]


def test_no_logging_resources_without_the_option(synthesized: SynthesizedStack) -> None:
    assert not resources_of_type(synthesized.resources, "Custom::AWS")
    assert BEDROCK not in json.dumps(resources_of_type(synthesized.resources, "AWS::S3::BucketPolicy"))
