"""The report's figures, window, safeguards checklist and page, on records built in memory (no AWS)."""

from __future__ import annotations

import argparse
import io
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import NoRegionError
from warden.config import Provider, WardenConfig, parse_config
from warden.domain.report import (
    InvalidWindowError,
    ReportBuilder,
    ReportWindow,
    ReviewEvidence,
    ReviewOutcome,
    percentiles,
)
from warden.domain.safeguards import SafeguardStatus, safeguards_checklist
from warden.models import ScreenerVerdict, ScreeningOutcome
from warden.report_cli import ReportCommandError, resolve_source, run_report
from warden.report_html import render_report
from warden.taxonomy import Category

from tests.support.audit_records import synthetic_record

NOW = datetime(2025, 11, 20, 15, 30, tzinfo=UTC)


def _summary(builder: ReportBuilder, reviews: ReviewEvidence | None = None) -> dict[str, Any]:
    return builder.summary(reviews or ReviewEvidence(note="not asked"))


def test_since_accepts_hours_days_and_weeks() -> None:
    assert ReportWindow.since("24h", NOW).start == NOW - timedelta(hours=24)
    assert ReportWindow.since("7d", NOW).start == NOW - timedelta(days=7)
    assert ReportWindow.since("2w", NOW).start == NOW - timedelta(days=14)


@pytest.mark.parametrize("text", ["7", "0d", "7 days", "-1d", "1y", ""])
def test_since_refuses_anything_else(text: str) -> None:
    with pytest.raises(InvalidWindowError):
        ReportWindow.since(text, NOW)


def test_window_lists_every_hour_partition_it_touches() -> None:
    partitions = ReportWindow.since("24h", NOW).partitions()

    # 15:30 yesterday to 15:30 today touches 25 hours, both ends included.
    assert len(partitions) == 25
    assert (partitions[0].dt, partitions[0].hour) == ("2025-11-19", "15")
    assert (partitions[-1].dt, partitions[-1].hour) == ("2025-11-20", "15")


def test_short_windows_chart_by_hour_long_ones_by_day() -> None:
    assert ReportWindow.since("48h", NOW).bucket(NOW) == "2025-11-20T15:00Z"
    assert ReportWindow.since("3d", NOW).bucket(NOW) == "2025-11-20"


def test_percentiles_by_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]

    assert percentiles(values) == {"p50": 50.0, "p95": 95.0, "p99": 99.0, "count": 100}
    assert percentiles([]) is None


def test_records_outside_the_window_are_not_counted() -> None:
    rng = random.Random(1)
    builder = ReportBuilder(ReportWindow.since("24h", NOW))

    assert builder.add(synthetic_record(rng, NOW - timedelta(hours=1)))
    assert not builder.add(synthetic_record(rng, NOW - timedelta(hours=25)))
    assert _summary(builder)["requests"] == 1


def test_screener_agreement_counts_only_where_both_ran() -> None:
    rng = random.Random(2)
    record = synthetic_record(rng, NOW - timedelta(minutes=5))
    found = ScreenerVerdict(screener="fast", scores={Category.FRAUD_ABUSE: 0.8})
    missed = ScreenerVerdict(screener="moderator", scores={Category.FRAUD_ABUSE: 0.2})
    failed = ScreenerVerdict(screener="moderator", error="timeout")
    builder = ReportBuilder(ReportWindow.since("24h", NOW))
    for verdicts in ([found, missed], [found, found.model_copy(update={"screener": "moderator"})], [found, failed]):
        builder.add(
            record.model_copy(update={"screening": ScreeningOutcome(decision=record.decision, verdicts=verdicts)})
        )

    agreement = _summary(builder)["screener_agreement"]

    assert agreement == [
        {"screeners": ["fast", "moderator"], "both_ran": 2, "agreed": 1, "both_found": 1, "agreement_rate": 0.5}
    ]


def test_agreement_uses_the_configured_thresholds() -> None:
    record = synthetic_record(random.Random(3), NOW - timedelta(minutes=5))
    verdicts = [
        ScreenerVerdict(screener="fast", scores={Category.CHILD_SAFETY: 0.35}),
        ScreenerVerdict(screener="moderator", scores={Category.CHILD_SAFETY: 0.9}),
    ]
    builder = ReportBuilder(ReportWindow.since("24h", NOW), thresholds={Category.CHILD_SAFETY: 0.3})
    builder.add(record.model_copy(update={"screening": ScreeningOutcome(decision=record.decision, verdicts=verdicts)}))

    assert _summary(builder)["screener_agreement"][0]["agreed"] == 1


def test_overturn_rate_is_dismissed_of_judged_cases() -> None:
    outcomes = (
        ReviewOutcome(("fraud_abuse",), "confirm"),
        ReviewOutcome(("fraud_abuse", "misinformation"), "dismiss"),
        ReviewOutcome(("misinformation",), "escalate"),
    )
    summary = _summary(ReportBuilder(ReportWindow.since("1d", NOW)), ReviewEvidence(outcomes, source="table t"))

    assert summary["reviewer_overturn_rate"] == 0.5
    assert summary["reviews"]["by_category"]["misinformation"] == {
        "confirmed": 0,
        "dismissed": 1,
        "overturn_rate": 1.0,
    }


def _config(**overrides: Any) -> WardenConfig:
    base = WardenConfig.model_validate({"models": {"allowed": ["claude-haiku-4-5"]}})
    return base.model_copy(update=overrides)


def _checks(config: WardenConfig | None, builder: ReportBuilder | None = None) -> dict[str, Any]:
    summary = _summary(builder or ReportBuilder(ReportWindow.since("1d", NOW)))
    return {check.recommendation.split(",")[0].split(":")[0]: check for check in safeguards_checklist(config, summary)}


def test_checklist_without_configuration_says_it_does_not_know() -> None:
    checks = _checks(None)

    assert checks["Make sure customers understand the permitted uses"].status is SafeguardStatus.UNKNOWN
    assert len(checks) == 9


def test_checklist_asks_for_bedrock_invocation_logging_on_bedrock() -> None:
    bedrock = parse_config(
        {
            "provider": "bedrock",
            "models": {"allowed": ["claude-haiku-4-5"], "bedrock_model_map": {"claude-haiku-4-5": "anthropic.x"}},
        }
    )
    bucket = "Keep prompts and completions in a private bucket for your own evaluation"

    assert _checks(bedrock)[bucket].status is SafeguardStatus.PARTIAL
    assert _checks(bedrock.model_copy(update={"bedrock_invocation_logging": True}))[bucket].status is SafeguardStatus.ON


def test_checklist_marks_filters_partial_when_a_request_reached_claude_unscreened() -> None:
    record = synthetic_record(random.Random(4), NOW - timedelta(minutes=5))
    while record.completion is None:
        record = synthetic_record(random.Random(), NOW - timedelta(minutes=5))
    builder = ReportBuilder(ReportWindow.since("1d", NOW))
    builder.add(record.model_copy(update={"screening": ScreeningOutcome(decision=record.decision)}))
    filters = "Add safety filters"

    assert _checks(_config(), builder)[filters].status is SafeguardStatus.PARTIAL
    assert _checks(_config())[filters].status is SafeguardStatus.ON
    assert (
        _checks(_config(provider=Provider.ANTHROPIC))[filters].evidence[0] == "screeners before Claude: fast, moderator"
    )


def test_page_escapes_what_comes_from_records() -> None:
    summary = _summary(ReportBuilder(ReportWindow.since("1d", NOW)))
    summary["by_tenant"] = {
        "<b>x</b>": {
            "requests": 1,
            "blocked": 0,
            "flagged": 0,
            "block_rate": 0.0,
            "flag_rate": 0.0,
            "input_tokens": 1,
            "output_tokens": 1,
            "claude_latency_ms": None,
        }
    }
    summary["safeguards"] = [check.as_json() for check in safeguards_checklist(None, summary)]

    page = render_report(summary)

    assert "<b>x</b>" not in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page


class _CloudFormation:
    def __init__(self, outputs: dict[str, str]):
        self.outputs = outputs

    def describe_stacks(self, StackName: str) -> dict[str, Any]:  # noqa: N803 - boto3's parameter name
        return {"Stacks": [{"Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in self.outputs.items()]}]}


def _args(**overrides: Any) -> argparse.Namespace:
    defaults = {"local": False, "bucket": None, "cases_table": None, "stack": "Warden", "region": None, "workers": 4}
    return argparse.Namespace(**{**defaults, **overrides, "out": Path("out")})


def test_bucket_and_cases_table_come_from_the_stack_outputs() -> None:
    outputs = {"AuditBucketName": "audit-123", "ReviewCasesTableName": "cases-123"}

    source = resolve_source(_args(), lambda service: _CloudFormation(outputs))

    assert (source.bucket, source.cases_table, source.where) == ("audit-123", "cases-123", "stack Warden")


def test_bucket_option_skips_cloudformation() -> None:
    def no_cloudformation(service: str) -> Any:
        raise AssertionError(f"{service} must not be called")

    source = resolve_source(_args(bucket="mine"), no_cloudformation)

    assert (source.bucket, source.cases_table) == ("mine", None)


def test_a_stack_without_the_bucket_output_is_refused() -> None:
    with pytest.raises(ReportCommandError, match="AuditBucketName"):
        resolve_source(_args(), lambda service: _CloudFormation({"ApiUrl": "x"}))


def test_a_bad_window_is_refused_before_any_aws_call() -> None:
    def no_aws(service: str) -> Any:
        raise AssertionError(f"{service} must not be called")

    with pytest.raises(ReportCommandError, match="--since"):
        run_report(_args(since="garbage", config=Path("cdk.json")), io.StringIO(), no_aws)


def test_an_aws_configuration_error_is_a_clear_refusal() -> None:
    def no_region(service: str) -> Any:
        raise NoRegionError()

    with pytest.raises(ReportCommandError, match="AWS: You must specify a region"):
        run_report(_args(since="24h", config=Path("cdk.json")), io.StringIO(), no_region)
