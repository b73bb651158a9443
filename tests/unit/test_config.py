"""Deployment configuration: validated with readable messages, and small enough for a Lambda environment."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from warden.config import FailMode, InvalidConfigurationError, Provider, parse_config
from warden.taxonomy import Category

CDK_JSON = Path(__file__).resolve().parents[2] / "cdk.json"
MINIMAL: dict[str, Any] = {"models": {"allowed": ["claude-sonnet-4-5"]}}


def with_overrides(**overrides: Any) -> dict[str, Any]:
    return {**MINIMAL, **overrides}


def test_defaults_are_a_valid_configuration() -> None:
    config = parse_config(MINIMAL)

    assert config.provider is Provider.ANTHROPIC
    assert config.fail_mode is FailMode.CLOSED
    assert set(config.screening.categories) == set(Category)


def test_bedrock_without_a_model_mapping_names_the_unmapped_model() -> None:
    context = with_overrides(
        provider="bedrock",
        models={
            "allowed": ["claude-sonnet-4-5", "claude-opus-4-5"],
            "moderator": "claude-haiku-4-5",
            "bedrock_model_map": {
                "claude-sonnet-4-5": "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
                "claude-haiku-4-5": "global.anthropic.claude-haiku-4-5-20251001-v1:0",
            },
        },
    )

    with pytest.raises(InvalidConfigurationError, match=r"bedrock_model_map has no Bedrock id for: claude-opus-4-5 \["):
        parse_config(context)


def test_bedrock_requires_a_mapping_for_the_moderator_model_too() -> None:
    context = with_overrides(
        provider="bedrock",
        models={
            "allowed": ["claude-sonnet-4-5"],
            "moderator": "claude-haiku-4-5",
            "bedrock_model_map": {"claude-sonnet-4-5": "global.anthropic.claude-sonnet-4-5-20250929-v1:0"},
        },
    )

    with pytest.raises(InvalidConfigurationError, match="claude-haiku-4-5"):
        parse_config(context)


def test_a_category_without_a_policy_is_refused_by_name() -> None:
    categories = {c.value: {"action": "block"} for c in Category if c is not Category.ELECTIONS}

    with pytest.raises(InvalidConfigurationError, match="missing a policy for: elections"):
        parse_config(with_overrides(screening={"categories": categories}))


def test_suspend_at_below_warn_at_is_refused() -> None:
    with pytest.raises(InvalidConfigurationError, match=r"suspend_at must be >= strike_ladder\.warn_at"):
        parse_config(with_overrides(strike_ladder={"warn_at": 3, "suspend_at": 2}))


@pytest.mark.parametrize(
    "ladder",
    [
        {"warn_at": 1, "throttle_at": 6, "suspend_at": 5},  # throttle after suspension
        {"warn_at": 1, "throttle_at": 5, "suspend_at": 5},  # a throttle step that can never be reached
        {"warn_at": 3, "throttle_at": 2, "suspend_at": 5},  # throttled before warned
    ],
)
def test_throttle_at_must_lie_between_warn_at_and_suspend_at(ladder: dict[str, int]) -> None:
    with pytest.raises(InvalidConfigurationError, match=r"strike_ladder\.throttle_at .* set it to null"):
        parse_config(with_overrides(strike_ladder=ladder))


def test_a_ladder_without_a_throttle_step_is_valid() -> None:
    config = parse_config(with_overrides(strike_ladder={"warn_at": 1, "throttle_at": None, "suspend_at": 2}))

    assert config.strike_ladder.throttle_at is None


def test_default_ladder_warns_throttles_and_suspends_as_documented() -> None:
    ladder = parse_config(MINIMAL).strike_ladder

    assert (ladder.warn_at, ladder.throttle_at, ladder.suspend_at, ladder.window_days) == (1, 3, 5, 30)
    assert (ladder.throttle.requests, ladder.throttle.per_seconds, ladder.throttle.duration_hours) == (5, 60, 24)
    assert ladder.suspend_immediately == (Category.CHILD_SAFETY,)


def test_an_unknown_immediate_suspension_category_is_refused() -> None:
    with pytest.raises(InvalidConfigurationError, match="suspend_immediately"):
        parse_config(with_overrides(strike_ladder={"suspend_immediately": ["childsafety"]}))


@pytest.mark.parametrize("version", ["", "2025 09 15", "x" * 65])
def test_usage_policy_version_is_a_short_token(version: str) -> None:
    with pytest.raises(InvalidConfigurationError, match=r"usage_policy\.version"):
        parse_config(with_overrides(usage_policy={"version": version}))


def test_usage_policy_reaches_the_functions() -> None:
    config = parse_config(with_overrides(usage_policy={"version": "v7", "url": "https://example.com/aup"}))

    assert config.runtime().usage_policy.version == "v7"


@pytest.mark.parametrize("transition_days", [400, 401])
def test_infrequent_access_transition_must_come_before_expiry(transition_days: int) -> None:
    retention = {"audit_days": 400, "infrequent_access_after_days": transition_days}

    with pytest.raises(InvalidConfigurationError, match=r"infrequent_access_after_days must be < retention\.audit"):
        parse_config(with_overrides(retention=retention))


def test_unknown_keys_are_refused() -> None:
    # A typo in cdk.json must fail synth rather than silently fall back to a default.
    with pytest.raises(InvalidConfigurationError, match="fail_mdoe"):
        parse_config(with_overrides(fail_mdoe="allow_and_flag"))


def test_runtime_config_of_cdk_json_fits_in_a_lambda_environment() -> None:
    # Lambda caps all environment variables of a function together at 4 KB; WARDEN_CONFIG is one of them, and
    # the table names, queue URLs and ARNs need the last kilobyte.
    config = parse_config(json.loads(CDK_JSON.read_text())["context"]["warden"])

    assert len(config.runtime().model_dump_json().encode()) < 3072
