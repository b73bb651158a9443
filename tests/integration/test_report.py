"""`warden report` on synthetic records in moto S3: the numbers in summary.json checked against the records."""

from __future__ import annotations

import io
import json
import secrets
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from warden.cli import build_parser
from warden.models import AuditRecord, Decision
from warden.report_cli import REPORT_FILE, SUMMARY_FILE, run_report
from warden_local.resources import create_cases_table

from tests.conftest import ROOT
from tests.integration.conftest import AwsStack
from tests.support.audit_records import synthetic_records, upload_records

NOW = datetime(2025, 11, 20, 15, 30, tzinfo=UTC)
EMPTY_DAY = 3  # days before NOW with no records at all


@pytest.fixture(scope="module")
def records() -> list[AuditRecord]:
    return synthetic_records(600, NOW, days=7, seed=11, skip_days=(EMPTY_DAY,))


@pytest.fixture(scope="module")
def bucket(aws: AwsStack, records: list[AuditRecord]) -> str:
    """A bucket of its own, so records other tests write do not count."""
    name = f"report-{secrets.token_hex(4)}"
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=name)
    upload_records(s3, name, records)
    # An object under records/ that is not an audit record is counted as unreadable, not fatal.
    day = NOW.strftime("%Y-%m-%d")
    s3.put_object(Bucket=name, Key=f"records/dt={day}/hour=01/not-a-record.json", Body=b'{"hello": 1}')
    return name


def _decided_case(case_id: str, category: str, decision: str) -> dict[str, Any]:
    return {
        "case_id": {"S": case_id},
        "status": {"S": "decided"},
        "priority_created": {"S": f"50#{case_id}"},
        "tenant_id": {"S": "acme"},
        "user_hash": {"S": "0" * 64},
        "categories": {"L": [{"S": category}]},
        "review_decision": {"S": decision},
    }


@pytest.fixture(scope="module")
def cases_table(aws: AwsStack) -> str:
    """Three confirmed and one dismissed fraud case, one dismissed misinformation case; false-positive counts."""
    name = f"report-cases-{secrets.token_hex(4)}"
    dynamodb = aws.client("dynamodb")
    create_cases_table(dynamodb, name)
    cases = [
        ("c1", "fraud_abuse", "confirm"),
        ("c2", "fraud_abuse", "confirm"),
        ("c3", "fraud_abuse", "confirm"),
        ("c4", "fraud_abuse", "dismiss"),
        ("c5", "misinformation", "dismiss"),
        ("c6", "misinformation", "escalate"),
    ]
    for case_id, category, decision in cases:
        dynamodb.put_item(TableName=name, Item=_decided_case(case_id, category, decision))
    dynamodb.put_item(
        TableName=name,
        Item={
            "case_id": {"S": "STATS#false-positives"},
            "fp#fraud_abuse#fast": {"N": "1"},
            "fp#misinformation#moderator": {"N": "1"},
        },
    )
    return name


def _report(aws: AwsStack, out: Path, *options: str) -> tuple[dict[str, Any], str, str]:
    args = build_parser().parse_args(
        ["report", "--since", "7d", "--out", str(out), "--config", str(ROOT / "cdk.json"), *options]
    )
    err = io.StringIO()
    assert run_report(args, err, clients=aws.client, clock=lambda: NOW) == 0
    summary = json.loads((out / SUMMARY_FILE).read_text())
    return summary, (out / REPORT_FILE).read_text(), err.getvalue()


def test_summary_counts_match_the_records(
    aws: AwsStack, bucket: str, cases_table: str, records: list[AuditRecord], tmp_path: Path
) -> None:
    # Given 600 synthetic records over a week, one day without any
    decisions = Counter(record.decision for record in records)

    # When the report runs over the week
    summary, html, err = _report(aws, tmp_path, "--bucket", bucket, "--cases-table", cases_table)

    # Then every figure agrees with the records
    assert summary["requests"] == len(records)
    assert summary["blocked"] == decisions[Decision.BLOCKED]
    assert summary["flagged"] == decisions[Decision.FLAGGED]
    assert summary["by_decision"]["suspended"] == decisions[Decision.SUSPENDED]
    assert summary["block_rate"] == round(decisions[Decision.BLOCKED] / len(records), 4)
    for tenant in {record.tenant_id for record in records}:
        mine = [record for record in records if record.tenant_id == tenant]
        figures = summary["by_tenant"][tenant]
        assert figures["requests"] == len(mine)
        assert figures["blocked"] == sum(record.decision is Decision.BLOCKED for record in mine)
        assert figures["output_tokens"] == sum(r.completion.usage["output_tokens"] for r in mine if r.completion)
    category_counts = Counter(
        (category.value, record.decision.value) for record in records for category in record.screening.categories
    )
    for category, counts in summary["by_category"].items():
        assert counts == {
            "blocked": category_counts[(category, "blocked")],
            "flagged": category_counts[(category, "flagged")],
        }
    violations = Counter(
        (record.tenant_id, record.user_hash)
        for record in records
        if record.decision in (Decision.BLOCKED, Decision.FLAGGED)
    )
    top = summary["top_users"][0]
    assert top["violations"] == max(violations.values())
    assert violations[(top["tenant_id"], top["user_hash"])] == top["violations"]
    assert sum(point["requests"] for point in summary["over_time"]) == len(records)
    assert summary["unreadable_records"] == 1

    # And the reviewers' figures come from the decided cases: 2 dismissed of 5 confirmed or dismissed
    assert summary["reviewer_overturn_rate"] == 0.4
    assert summary["reviews"]["by_category"]["fraud_abuse"]["overturn_rate"] == 0.25
    assert summary["reviews"]["escalated"] == 1
    assert {"category": "fraud_abuse", "screener": "fast", "count": 1} in summary["reviews"]["false_positives"]

    # And the empty day is reported, in the summary and on the terminal
    empty_day = (NOW - timedelta(days=EMPTY_DAY)).strftime("%Y-%m-%d")
    assert summary["partitions"]["empty_days"] == [empty_day]
    assert f"no records on {empty_day}" in err
    assert "reading records [" in err and "(100%)" in err

    # And the page is self-contained, with its charts and checklist
    assert html.count("<svg") >= 5
    assert "http://" not in html and "https://cdn" not in html and "<script" not in html
    assert "Safeguards checklist" in html
    assert len(summary["safeguards"]) == 9


def test_no_raw_user_id_reaches_the_report(aws: AwsStack, bucket: str, tmp_path: Path) -> None:
    summary, html, _ = _report(aws, tmp_path, "--bucket", bucket)

    # The synthetic users are "user-<n>" before hashing: only their hashes exist anywhere.
    assert "user-" not in json.dumps(summary)
    assert "user-" not in html.replace("user hash", "")
    assert all(len(user["user_hash"]) == 64 for user in summary["top_users"])


def test_tenant_option_reports_one_tenant(
    aws: AwsStack, bucket: str, records: list[AuditRecord], tmp_path: Path
) -> None:
    summary, html, _ = _report(aws, tmp_path, "--bucket", bucket, "--tenant", "globex")

    assert summary["requests"] == sum(record.tenant_id == "globex" for record in records)
    assert list(summary["by_tenant"]) == ["globex"]
    assert summary["window"]["tenant"] == "globex"
    assert "tenant globex" in html


def test_without_the_cases_table_the_report_says_what_it_needs(aws: AwsStack, bucket: str, tmp_path: Path) -> None:
    summary, html, _ = _report(aws, tmp_path, "--bucket", bucket)

    assert summary["reviewer_overturn_rate"] is None
    assert summary["reviews"]["source"] is None
    assert "needs the review cases table" in html


def test_unreadable_cases_table_is_a_note_not_a_failure(aws: AwsStack, bucket: str, tmp_path: Path) -> None:
    summary, _, _ = _report(aws, tmp_path, "--bucket", bucket, "--cases-table", "no-such-table")

    assert summary["requests"] > 0
    assert "no-such-table could not be read" in summary["reviews"]["note"]
