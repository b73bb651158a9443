"""Configuration reaches the stack from `cdk.json` and `-c`, and invalid configuration stops synthesis."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from warden.config import InvalidConfigurationError, Provider

from infra.app import build_app
from infra.config import CDK_JSON, CONTEXT_KEY, cdk_json_context, resolve_warden_context
from tests.infrastructure.synth import SKIP_BUNDLING

PROJECT_ROOT = CDK_JSON.parent
BASE = {"provider": "anthropic", "models": {"allowed": ["claude-haiku-4-5"], "moderator": "claude-haiku-4-5"}}


def test_stack_is_configured_from_cdk_json(synthesized: Any) -> None:
    expected = json.loads(CDK_JSON.read_text())["context"][CONTEXT_KEY]

    assert synthesized.config.provider == Provider(expected["provider"])
    assert list(synthesized.config.models.allowed) == expected["models"]["allowed"]
    assert synthesized.config.retention.audit_days == expected["retention"]["audit_days"]


def test_cdk_json_feature_flags_reach_the_app(synthesized: Any) -> None:
    flags = {key: value for key, value in cdk_json_context().items() if key.startswith("@aws-cdk/")}

    assert flags
    for key, value in flags.items():
        assert synthesized.app.node.try_get_context(key) == value


def test_whole_object_from_the_cli_is_merged_over_cdk_json() -> None:
    context = {CONTEXT_KEY: json.dumps({"provider": "bedrock", "models": {"moderator": "claude-sonnet-4-5"}})}

    resolved = resolve_warden_context(context, BASE)

    assert resolved["provider"] == "bedrock"
    assert resolved["models"] == {"allowed": ["claude-haiku-4-5"], "moderator": "claude-sonnet-4-5"}


def test_dotted_keys_override_single_fields_with_json_values() -> None:
    context = {
        f"{CONTEXT_KEY}.usage_plan.quota_per_month": "5000",
        f"{CONTEXT_KEY}.models.allowed": '["claude-sonnet-4-5"]',
        f"{CONTEXT_KEY}.log_level": "DEBUG",
    }

    resolved = resolve_warden_context(context, BASE)

    assert resolved["usage_plan"] == {"quota_per_month": 5000}
    assert resolved["models"]["allowed"] == ["claude-sonnet-4-5"]
    assert resolved["log_level"] == "DEBUG"


def test_bedrock_with_an_unmapped_model_fails_with_the_model_named(tmp_path: Path) -> None:
    context = {f"{CONTEXT_KEY}.provider": "bedrock", f"{CONTEXT_KEY}.models.bedrock_model_map": "{}"}

    with pytest.raises(InvalidConfigurationError, match=r"bedrock_model_map has no Bedrock id for: .*claude-haiku-4-5"):
        build_app({**SKIP_BUNDLING, **context}, outdir=str(tmp_path))


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"provider": "standin"}, "local stack's offline model"),
        ({"log_level": "LOUD"}, "log_level must be one of"),
        ({"retention": {"audit_days": 10, "infrequent_access_after_days": 30}}, "infrequent_access_after_days"),
        ({"models": {"allowed": []}}, "models.allowed must list at least one model"),
        ({"unknown_option": True}, "unknown_option"),
        (
            {"strike_ladder": {"warn_at": 1, "throttle_at": 6, "suspend_at": 5}},
            r"strike_ladder\.throttle_at \(6\) must be >= warn_at \(1\) and < suspend_at \(5\)",
        ),
        ({"usage_policy": {"version": "not a version"}}, "usage_policy.version"),
        (
            {"review": {"notify_emails": ["reviewers at example.com"]}},
            r"review\.notify_emails\.0\n.*should match pattern",
        ),
        ({"review": {"notify_emails": ["a@example.com", "A@example.com"]}}, "must not list an address twice"),
        ({"review": {"sla_hours": {"child_safety": 0}}}, r"review\.sla_hours\.child_safety\n.*greater than 0"),
        ({"review": {"sla_hours": {"kids": 1}}}, "review.sla_hours keys must be category ids or 'default', got: kids"),
    ],
)
def test_invalid_configuration_fails_before_any_resource_is_built(
    tmp_path: Path, override: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidConfigurationError, match=message):
        build_app({**SKIP_BUNDLING, CONTEXT_KEY: json.dumps(override)}, outdir=str(tmp_path))


def test_synth_exits_with_the_configuration_error(tmp_path: Path) -> None:
    # Given the context the CDK CLI would pass for `cdk synth -c warden.provider=bedrock -c warden.models...`
    cli_context = {
        **cdk_json_context(),
        f"{CONTEXT_KEY}.provider": "bedrock",
        f"{CONTEXT_KEY}.models.bedrock_model_map": "{}",
    }
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(cli_context), "CDK_OUTDIR": str(tmp_path)}

    # When the app runs as `cdk.json` tells the CLI to run it
    result = subprocess.run(
        [sys.executable, "-m", "infra.app"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=False
    )

    # Then it stops with the validation message and synthesises nothing
    assert result.returncode == 1
    assert "invalid Warden configuration (cdk.json context 'warden')" in result.stderr
    assert "bedrock_model_map has no Bedrock id for" in result.stderr
    assert not list(tmp_path.glob("*.template.json"))
