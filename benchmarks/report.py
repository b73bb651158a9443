"""`warden report` over 10,000 synthetic audit records in moto S3 (in-process `mock_aws`).

The records (three tenants, a week, one empty day) are written under their audit keys first; `seconds` is the
wall time of `warden report --since 7d` from listing the partitions to writing report.html, with the default
parallel reads. In-process moto spends a few milliseconds of CPU on every GET under the GIL, so here reading
dominates and parallel reads cannot help; `processing_seconds` is the report's own work on the same records
(parse, aggregate, checklist, render) without S3, to show what is Warden's and what is the emulator's.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
from warden import constants as c
from warden.cli import build_parser
from warden.domain.report import ReportBuilder, ReportWindow, ReviewEvidence
from warden.domain.safeguards import safeguards_checklist
from warden.models import AuditRecord
from warden.report_cli import REPORT_FILE, SUMMARY_FILE, run_report
from warden.report_html import render_report
from warden_local.resources import create_cases_table

RECORDS = 10_000
BUCKET = "warden-bench-audit"
CASES_TABLE = "warden-bench-cases"
# Decided review cases: (category, decision, how many).
REVIEWS = (
    ("weapons_illegal_goods", "confirm", 40),
    ("weapons_illegal_goods", "dismiss", 3),
    ("fraud_abuse", "confirm", 25),
    ("fraud_abuse", "dismiss", 6),
    ("misinformation", "confirm", 9),
    ("misinformation", "dismiss", 7),
    ("elections", "confirm", 5),
    ("elections", "dismiss", 2),
    ("sexual_content", "escalate", 2),
)
# The reviewers' running false-positive counts (one item, `fp#<category>#<screener>`).
FALSE_POSITIVES = {
    "weapons_illegal_goods#fast": 3,
    "fraud_abuse#fast": 4,
    "fraud_abuse#moderator": 2,
    "misinformation#moderator": 7,
    "elections#moderator": 2,
}
NOW = datetime(2025, 11, 20, 15, 30, tzinfo=UTC)


def _processing_seconds(bodies: list[bytes]) -> float:
    started = time.perf_counter()
    builder = ReportBuilder(ReportWindow.since("7d", NOW))
    for body in bodies:
        builder.add(AuditRecord.model_validate_json(body))
    summary = builder.summary(ReviewEvidence(note="benchmark"))
    summary["safeguards"] = [check.as_json() for check in safeguards_checklist(None, summary)]
    render_report(summary)
    return time.perf_counter() - started


def _decided_cases(dynamodb: Any) -> None:
    create_cases_table(dynamodb, CASES_TABLE)
    for category, decision, count in REVIEWS:
        for index in range(count):
            case_id = f"{category}-{decision}-{index}"
            item = {
                c.CASES_TABLE.partition_key: {"S": case_id},
                c.CASES_STATUS_INDEX_PK: {"S": "decided"},
                c.CASES_STATUS_INDEX_SK: {"S": f"50#{case_id}"},
                "categories": {"L": [{"S": category}]},
                "review_decision": {"S": decision},
            }
            dynamodb.put_item(TableName=CASES_TABLE, Item=item)
    stats = {f"fp#{pair}": {"N": str(count)} for pair, count in FALSE_POSITIVES.items()}
    dynamodb.put_item(
        TableName=CASES_TABLE, Item={c.CASES_TABLE.partition_key: {"S": "STATS#false-positives"}, **stats}
    )


def run(records: int = RECORDS, out: Path | None = None) -> dict[str, Any]:
    from moto import mock_aws

    from tests.support.audit_records import synthetic_records, upload_records

    synthetic = synthetic_records(records, NOW, days=7, seed=3, skip_days=(2,))

    environment = {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": c.LOCAL_REGION,
    }
    with mock.patch.dict(os.environ, environment), mock_aws():
        s3 = boto3.client("s3", region_name=c.LOCAL_REGION)
        s3.create_bucket(Bucket=BUCKET)
        upload_records(s3, BUCKET, synthetic)
        _decided_cases(boto3.client("dynamodb", region_name=c.LOCAL_REGION))
        target = out or Path(tempfile.mkdtemp(prefix="warden-report-"))
        args = build_parser().parse_args(
            ["report", "--since", "7d", "--out", str(target), "--bucket", BUCKET, "--cases-table", CASES_TABLE]
        )
        started = time.perf_counter()
        run_report(args, io.StringIO(), clock=lambda: NOW)
        seconds = time.perf_counter() - started
    summary = json.loads((target / SUMMARY_FILE).read_text())
    return {
        "records": summary["requests"],
        "seconds": round(seconds, 2),
        "records_per_second": round(summary["requests"] / seconds),
        "processing_seconds": round(_processing_seconds([r.model_dump_json().encode() for r in synthetic]), 2),
        "workers": args.workers,
        "s3": "moto in-process (mock_aws)",
        "report": str(target / REPORT_FILE),
    }


if __name__ == "__main__":
    import sys

    target = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    sys.stdout.write(json.dumps(run(out=target), indent=2) + "\n")
