"""The deployment configuration of the CDK app: `cdk.json` context, merged with app context, validated.

`cdk synth` hands the app every key of `cdk.json` as context, but `python -m infra.app` and tests that
build the stack directly do not, so `cdk_json_context()` reads the file itself and the app passes it as
the App's default context; context from the CLI (`-c`) still wins. The `warden` object can be
overridden as a whole (`-c warden='{...}'`, deep-merged over `cdk.json`) or per field with a dotted key
(`-c warden.provider=bedrock`, `-c warden.usage_plan.quota_per_month=100000`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from constructs import Construct
from warden.config import InvalidConfigurationError, Provider, WardenConfig, parse_config

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CDK_JSON = PROJECT_ROOT / "cdk.json"
CONTEXT_KEY = "warden"
_DOTTED_PREFIX = f"{CONTEXT_KEY}."
_LOG_LEVELS = frozenset({"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"})
_ARN_PREFIX = "arn:"

__all__ = [
    "CDK_JSON",
    "CONTEXT_KEY",
    "InvalidConfigurationError",
    "cdk_json_context",
    "load_config",
    "resolve_warden_context",
]


def cdk_json_context(path: Path = CDK_JSON) -> dict[str, Any]:
    """The `context` object of `cdk.json` (feature flags and the `warden` configuration)."""
    try:
        document = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise InvalidConfigurationError(f"cannot read the CDK context from {path}: {error}") from error
    context = document.get("context", {})
    if not isinstance(context, dict):
        raise InvalidConfigurationError(f"{path}: 'context' must be an object")
    return context


def _as_object(value: object, source: str) -> dict[str, Any]:
    if isinstance(value, str):  # `-c warden=...` arrives as a string
        try:
            value = json.loads(value)
        except json.JSONDecodeError as error:
            raise InvalidConfigurationError(f"context '{source}' is not valid JSON: {error}") from error
    if not isinstance(value, dict):
        raise InvalidConfigurationError(f"context '{source}' must be a JSON object, got {type(value).__name__}")
    return value


def _deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _cli_value(raw: object) -> object:
    # `-c warden.x=...` values are strings; JSON lets numbers, booleans, lists and null through typed.
    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def _set_path(target: dict[str, Any], dotted: str, value: object) -> None:
    *parents, leaf = dotted.split(".")
    node = target
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[leaf] = value


def resolve_warden_context(context: Mapping[str, Any], base: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The effective `warden` object: `base` (cdk.json), then `context['warden']`, then dotted `warden.*` keys."""
    resolved = _as_object(dict(base or {}), f"{CONTEXT_KEY} (cdk.json)")
    if CONTEXT_KEY in context:
        resolved = _deep_merge(resolved, _as_object(context[CONTEXT_KEY], CONTEXT_KEY))
    for key in sorted(k for k in context if k.startswith(_DOTTED_PREFIX)):
        _set_path(resolved, key.removeprefix(_DOTTED_PREFIX), _cli_value(context[key]))
    return resolved


def _check_deployable(config: WardenConfig) -> None:
    """Rules for a deployed stack that the shared model (also used by the local stack) does not enforce."""
    problems = []
    if config.provider is Provider.STANDIN:
        problems.append("provider 'standin' is the local stack's offline model; deploy with 'anthropic' or 'bedrock'")
    if config.log_level.upper() not in _LOG_LEVELS:
        problems.append(f"log_level must be one of {', '.join(sorted(_LOG_LEVELS))}, got '{config.log_level}'")
    if config.provider is Provider.BEDROCK:
        arns = sorted(v for v in config.models.bedrock_model_map.values() if v.startswith(_ARN_PREFIX))
        if arns:
            problems.append(
                "models.bedrock_model_map values must be Bedrock model ids or system inference profile ids "
                f"(IAM is scoped from them), not ARNs: {', '.join(arns)}"
            )
    if problems:
        raise InvalidConfigurationError(
            f"invalid Warden configuration (cdk.json context '{CONTEXT_KEY}'):\n"
            + "\n".join(f"  - {p}" for p in problems)
        )


def load_config(scope: Construct, cdk_json: Path = CDK_JSON) -> WardenConfig:
    """Validate the effective `warden` configuration visible from `scope`; raise `InvalidConfigurationError`."""
    base = cdk_json_context(cdk_json).get(CONTEXT_KEY, {})
    context = scope.node.get_all_context()
    config = parse_config(resolve_warden_context(context, base))
    _check_deployable(config)
    return config
