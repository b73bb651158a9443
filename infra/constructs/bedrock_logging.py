"""Bedrock's own model-invocation logging into the audit bucket (`bedrock_invocation_logging`, provider bedrock).

The setting is per account and Region and has no CloudFormation resource, so a custom resource calls
`PutModelInvocationLoggingConfiguration` on create and update and removes the configuration on delete.
Bedrock writes under `bedrock-invocations/` (beside `records/`, so neither Athena nor `warden report` reads
it), encrypted with the audit key and kept by the bucket's retention lifecycle.
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import custom_resources as cr
from constructs import Construct

from infra.constructs.audit_storage import AuditStorage
from infra.nag import acknowledge

KEY_PREFIX = "bedrock-invocations"
BEDROCK = "bedrock.amazonaws.com"
# The construct id the CDK gives the singleton function behind every AwsCustomResource of a stack.
PROVIDER_ID = "AWS679f53fac002430cb0da5b7982bd2287"
LOGGING_ACTIONS = (
    "bedrock:PutModelInvocationLoggingConfiguration",
    "bedrock:DeleteModelInvocationLoggingConfiguration",
)


class BedrockInvocationLogging(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, audit: AuditStorage) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        from_this_account = {
            "StringEquals": {"aws:SourceAccount": stack.account},
            "ArnLike": {"aws:SourceArn": f"arn:{stack.partition}:bedrock:{stack.region}:{stack.account}:*"},
        }
        audit.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal(BEDROCK)],
                actions=["s3:PutObject"],
                resources=[audit.bucket.arn_for_objects(f"{KEY_PREFIX}/*")],
                conditions=from_this_account,
            )
        )
        audit.key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal(BEDROCK)],
                actions=["kms:GenerateDataKey"],
                resources=["*"],
                conditions=from_this_account,
            )
        )
        configuration = {
            "loggingConfig": {
                "s3Config": {"bucketName": audit.bucket.bucket_name, "keyPrefix": KEY_PREFIX},
                "textDataDeliveryEnabled": True,
                "imageDataDeliveryEnabled": True,
                "embeddingDataDeliveryEnabled": False,
            }
        }
        put = cr.AwsSdkCall(
            service="Bedrock",
            action="PutModelInvocationLoggingConfiguration",
            parameters=configuration,
            physical_resource_id=cr.PhysicalResourceId.of(f"{stack.stack_name}-bedrock-invocation-logging"),
        )
        self.resource = cr.AwsCustomResource(
            self,
            "Configuration",
            on_create=put,
            on_update=put,
            on_delete=cr.AwsSdkCall(service="Bedrock", action="DeleteModelInvocationLoggingConfiguration"),
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [iam.PolicyStatement(actions=list(LOGGING_ACTIONS), resources=["*"])]
            ),
            install_latest_aws_sdk=False,
        )
        # Bedrock checks that it can write to the bucket when the configuration is put.
        self.resource.node.add_dependency(audit.bucket)
        acknowledge(
            self,
            "AwsSolutions-IAM5[Resource::*]",
            "Bedrock's model-invocation logging configuration is one per account and Region and has no ARN: "
            "PutModelInvocationLoggingConfiguration and DeleteModelInvocationLoggingConfiguration only take '*'.",
        )
        # The provider function is one per stack, created beside this construct rather than inside it.
        provider = stack.node.find_child(PROVIDER_ID)
        acknowledge(
            provider,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
            "The CDK's AwsCustomResource provider function runs only at deploy time and writes nothing but its "
            "own logs; the basic execution role is what the CDK gives it.",
        )
        acknowledge(
            provider,
            "AwsSolutions-L1",
            "The runtime of the CDK's AwsCustomResource provider function is chosen by the CDK release, not here.",
        )
