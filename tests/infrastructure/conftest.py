"""The Warden stack, synthesised once per session with the `cdk.json` context and real (cached) bundling."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.config import CDK_JSON
from tests.infrastructure.synth import SKIP_BUNDLING, SynthesizedStack, synthesize


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedStack:
    """The stack as `cdk.json` configures it (provider anthropic), with the functions really bundled."""
    return synthesize(tmp_path_factory.mktemp("cdk-out"))


@pytest.fixture(scope="session")
def bedrock_synthesized(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedStack:
    """The stack with the options `cdk.json` leaves off: provider bedrock (limited to the models `cdk.json` maps
    to Bedrock ids) with Bedrock's invocation logging, and a monthly usage-plan quota. Code is not bundled:
    nothing here looks at it."""
    models = json.loads(CDK_JSON.read_text())["context"]["warden"]["models"]
    mapped = [model for model in models["allowed"] if model in models["bedrock_model_map"]]
    context = {
        **SKIP_BUNDLING,
        "warden.provider": "bedrock",
        "warden.models.allowed": json.dumps(mapped),
        "warden.usage_plan.quota_per_month": "1000000",
        "warden.bedrock_invocation_logging": "true",
    }
    return synthesize(tmp_path_factory.mktemp("cdk-out-bedrock"), context)


@pytest.fixture(scope="session")
def template(synthesized: SynthesizedStack) -> Template:
    return synthesized.template


@pytest.fixture(scope="session")
def resources(synthesized: SynthesizedStack) -> dict[str, Any]:
    return synthesized.resources
