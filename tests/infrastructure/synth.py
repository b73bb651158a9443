"""Synthesising the Warden app for tests, and reading what came out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import App
from aws_cdk.assertions import Match, Template
from aws_cdk.cx_api import CloudAssembly
from constructs import IConstruct
from warden.config import WardenConfig

from infra.app import build_app
from infra.nag import logical_id
from infra.stack import WardenStack

# Context that makes CDK stage function sources as they are instead of bundling them (for stack variants
# whose assertions do not look at the code).
SKIP_BUNDLING: Mapping[str, Any] = {"aws:cdk:bundling-stacks": []}


@dataclass(frozen=True)
class SynthesizedStack:
    app: App
    stack: WardenStack
    assembly: CloudAssembly
    template: Template

    @property
    def config(self) -> WardenConfig:
        return self.stack.config

    @property
    def resources(self) -> dict[str, Any]:
        resources: dict[str, Any] = self.template.to_json()["Resources"]
        return resources

    def logical_id(self, construct: IConstruct) -> str:
        """Logical id of a construct's CloudFormation resource."""
        return logical_id(construct)

    def asset_dir(self, function_logical_id: str) -> Path:
        """The bundled code directory of a Lambda function in the cloud assembly."""
        key = self.resources[function_logical_id]["Properties"]["Code"]["S3Key"]
        return Path(self.assembly.directory) / f"asset.{key.removesuffix('.zip')}"


def synthesize(outdir: Path, context: Mapping[str, Any] | None = None) -> SynthesizedStack:
    """Build and synthesise the app exactly as `cdk synth` does (cdk-nag included: findings fail synthesis)."""
    app, stack = build_app(context, outdir=str(outdir))
    assembly = app.synth()
    return SynthesizedStack(app, stack, assembly, Template.from_stack(stack))


def resources_of_type(resources: Mapping[str, Any], resource_type: str) -> dict[str, Any]:
    return {logical_id: r for logical_id, r in resources.items() if r["Type"] == resource_type}


def policy_statements(resources: Mapping[str, Any], role_logical_id: str) -> list[dict[str, Any]]:
    """Every statement of every IAM policy attached to the role."""
    statements: list[dict[str, Any]] = []
    for policy in resources_of_type(resources, "AWS::IAM::Policy").values():
        if {"Ref": role_logical_id} in policy["Properties"]["Roles"]:
            statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return statements


def methods_by_route(resources: Mapping[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """API Gateway methods keyed by (HTTP method, last path part)."""
    path_parts = {
        logical_id: resource["Properties"]["PathPart"]
        for logical_id, resource in resources_of_type(resources, "AWS::ApiGateway::Resource").items()
    }
    methods = [m["Properties"] for m in resources_of_type(resources, "AWS::ApiGateway::Method").values()]
    return {(method["HttpMethod"], path_parts[method["ResourceId"]["Ref"]]): method for method in methods}


def actions_of(statements: list[dict[str, Any]]) -> set[str]:
    actions: set[str] = set()
    for statement in statements:
        action = statement["Action"]
        actions.update([action] if isinstance(action, str) else action)
    return actions


def assert_topic_is_tls_only(template: Template, topic_logical_id: str) -> None:
    """The topic's policy denies every request not made over TLS (cdk-nag SNS3)."""
    template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "Topics": [{"Ref": topic_logical_id}],
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})]
                )
            },
        },
    )
