"""The `warden` command line."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from warden.config import Action, CategoryPolicy, ScreeningConfig
from warden.domain.json_text import load_json
from warden.domain.ports import Screener
from warden.domain.screening import screen_prompt
from warden.models import Decision
from warden.report_cli import ReportCommandError, add_report_command, run_report
from warden.taxonomy import Category
from warden.tenants_cli import TenantCommandError, add_tenant_commands, load_deployment_config, run_tenants

OFFLINE_TIERS = ("fast",)
TIERS = ("fast", "moderator")
_DECISIONS = {Decision.BLOCKED: "block", Decision.FLAGGED: "flag", Decision.ALLOWED: "allow"}


class CommandError(Exception):
    """A problem the user can fix; printed without a traceback."""


def _local(_: argparse.Namespace) -> int:
    from warden_local.stack import run

    return run()


def _load_config(path: Path | None) -> tuple[ScreeningConfig, str]:
    """Screening policies and the moderator model from `--config`, or from `cdk.json` here (the defaults when
    there is none)."""
    if path is not None and not path.exists():
        raise CommandError(f"--config {path}: no such file")
    config = load_deployment_config(path or Path("cdk.json"))
    if config is None:
        return ScreeningConfig(), "claude-haiku-4-5"
    return config.screening, config.models.moderator


def _anthropic_api_key() -> str:
    return os.environ["ANTHROPIC_API_KEY"]


def _screeners(tiers: Sequence[str], screening: ScreeningConfig, moderator_model: str) -> list[Screener]:
    screeners: list[Screener] = []
    for tier in tiers:
        if tier == "fast":
            from warden.domain.fast_tier import FastTierScreener

            screeners.append(FastTierScreener())
        elif tier == "moderator":
            if not os.environ.get("ANTHROPIC_API_KEY"):
                raise CommandError("the moderator tier calls Claude: set ANTHROPIC_API_KEY, or use --tiers fast")
            from warden.adapters.claude import AnthropicClaude
            from warden.domain.moderator import ClaudeModerator

            client = AnthropicClaude(api_key=_anthropic_api_key, base_url=os.environ.get("ANTHROPIC_BASE_URL"))
            screeners.append(ClaudeModerator(client, moderator_model, screening.moderator_timeout_seconds))
        else:
            raise CommandError(f"unknown tier {tier!r}; choose from {', '.join(TIERS)}")
    return screeners


def _tiers(value: str) -> list[str]:
    return [tier.strip() for tier in value.split(",") if tier.strip()]


def _confident(screening: ScreeningConfig) -> float:
    from warden.domain.fast_tier import load_model

    return screening.fast_tier_confident or load_model().confident


def _screen_one(
    text: str, screeners: Sequence[Screener], policies: dict[Category, CategoryPolicy], screening: ScreeningConfig
) -> tuple[str, list[Category], float]:
    from warden.config import FailMode

    started = time.perf_counter()
    outcome = screen_prompt(text, screeners, policies, FailMode.CLOSED, confident=_confident(screening))
    latency = round((time.perf_counter() - started) * 1000, 3)
    # A tier that could not run leaves the prompt unchecked: report it as blocked, as a fail-closed gateway would.
    decision = _DECISIONS.get(outcome.decision, Action.BLOCK.value)
    return decision, outcome.categories, latency


def _prompt_row(line: str, where: str) -> dict[str, Any]:
    """A JSONL row with a string "text", or a CommandError naming the line (the verdicts so far stay written)."""
    try:
        row = load_json(line.encode("utf-8", "surrogatepass"))
    except (ValueError, UnicodeDecodeError) as error:
        raise CommandError(f"{where}: not a JSON line ({error})") from None
    if not isinstance(row, dict) or not isinstance(row.get("text"), str):
        raise CommandError(f'{where}: expected a JSON object with a string "text", such as {{"id": "1", "text": "…"}}')
    return row


def _screen(args: argparse.Namespace, stdin: TextIO, stdout: TextIO) -> int:
    screening, moderator_model = _load_config(args.config)
    screeners = _screeners(_tiers(args.tiers), screening, moderator_model)
    for number, line in enumerate(stdin, start=1):
        if not line.strip():
            continue
        row = _prompt_row(line, f"line {number}")
        decision, categories, latency = _screen_one(row["text"], screeners, screening.categories, screening)
        verdict = {
            "id": row.get("id"),
            "decision": decision,
            "categories": [c.value for c in categories],
            "latency_ms": latency,
        }
        stdout.write(json.dumps(verdict) + "\n")
    return 0


def _eval(args: argparse.Namespace, stdout: TextIO) -> int:
    from warden.evaluation import LabelledPrompt, ScreenedPrompt, as_json, format_table, report

    screening, moderator_model = _load_config(args.config)
    screeners = _screeners(_tiers(args.tiers), screening, moderator_model)
    reports = {}
    for path in args.files:
        rows: list[ScreenedPrompt] = []
        try:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"cannot read {path}: {error}") from None
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            row = _prompt_row(line, f"{path}:{number}")
            try:
                prompt = LabelledPrompt.from_row(row)
            except ValueError as error:
                raise CommandError(f"{path}:{number}: {error}") from None
            decision, categories, latency = _screen_one(prompt.text, screeners, screening.categories, screening)
            rows.append(ScreenedPrompt(prompt, decision, tuple(categories), latency))
        reports[Path(path).stem] = report(rows)
    stdout.write(json.dumps(as_json(reports), indent=2) + "\n" if args.json else format_table(reports))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="warden", description="Warden: a trust-and-safety gateway in front of Claude")
    commands = parser.add_subparsers(dest="command", required=True)
    local = commands.add_parser("local", help="run the whole stack on this machine (what `make run` starts)")
    local.set_defaults(func=_local)

    def screening_options(command: argparse.ArgumentParser) -> None:
        command.add_argument(
            "--tiers",
            default=",".join(OFFLINE_TIERS),
            help="comma-separated screeners, cheapest first: fast (offline), moderator (needs ANTHROPIC_API_KEY)",
        )
        command.add_argument(
            "--config", type=Path, help="deployment config with the per-category actions (default: ./cdk.json if any)"
        )

    screen = commands.add_parser("screen", help='screen {"id","text"} JSON lines from stdin, write verdicts to stdout')
    screening_options(screen)
    screen.set_defaults(func=lambda args: _screen(args, sys.stdin, sys.stdout))
    evaluate = commands.add_parser("eval", help="recall, false-positive rate and latency on labelled JSON Lines files")
    evaluate.add_argument("files", nargs="+", type=Path)
    evaluate.add_argument("--json", action="store_true", help="machine-readable output")
    screening_options(evaluate)
    evaluate.set_defaults(func=lambda args: _eval(args, sys.stdout))
    tenants = commands.add_parser("tenants", help="tenant administration: create, list, rotate-key, disable")
    add_tenant_commands(tenants, lambda args: run_tenants(args, sys.stdout))
    add_report_command(commands, lambda args: run_report(args, sys.stderr))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result: int = args.func(args)
    except (CommandError, TenantCommandError, ReportCommandError) as error:
        sys.stderr.write(f"warden: {error}\n")
        return 2
    return result


if __name__ == "__main__":
    sys.exit(main())
