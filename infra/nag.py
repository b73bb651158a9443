"""cdk-nag (AwsSolutions) wiring and the helpers every acknowledgement goes through.

cdk-nag 3 runs as a CDK policy-validation plugin: any finding that is not acknowledged fails synthesis.
An acknowledgement names one finding (`Rule[Finding]` for rules such as IAM5 that report several per
resource) and must say why the finding is acceptable here.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, CfnElement, Stack, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

ACKNOWLEDGED_RULES_METADATA = Validations.ACKNOWLEDGED_RULES_METADATA_KEY


def add_checks(app: IConstruct) -> None:
    """Run the AwsSolutions rule pack on every synthesis of `app`."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def acknowledge(scope: IConstruct, finding: str, reason: str) -> None:
    """Accept one cdk-nag finding on `scope` (and the constructs below it), with the reason it is acceptable."""
    if not reason.strip():
        raise ValueError(f"acknowledging {finding} needs a reason")
    Validations.of(scope).acknowledge(Acknowledgment(id=finding, reason=reason))


def wildcard_action(action: str) -> str:
    """The IAM5 finding for a wildcard action, e.g. `kms:GenerateDataKey*`."""
    return f"AwsSolutions-IAM5[Action::{action}]"


def wildcard_resource(resource: str) -> str:
    """The IAM5 finding for a wildcard resource, as cdk-nag renders it (`<LogicalId.Arn>/...`)."""
    return f"AwsSolutions-IAM5[Resource::{resource}]"


def logical_id(resource: IConstruct) -> str:
    """The logical id of the CloudFormation resource behind an L2 construct."""
    element = resource.node.default_child
    if not isinstance(element, CfnElement):
        raise TypeError(f"{resource.node.path} has no CloudFormation resource")
    stack = Stack.of(element)
    return str(stack.resolve(stack.get_logical_id(element)))


def arn_of(resource: IConstruct) -> str:
    """How cdk-nag renders `Fn::GetAtt [<resource>, Arn]` in a finding."""
    return f"<{logical_id(resource)}.Arn>"
