"""`warden report --since 7d --out DIR [--tenant T]`: self-evaluation from the audit records in S3.

The bucket (and the review cases table) come from the deployed stack's CloudFormation outputs, from
`--bucket` (and `--cases-table`), or from the local stack (`--local`, the moto server on `WARDEN_AWS_PORT`).
Every hour partition of the window is listed and its records fetched in parallel; the figures go to
`DIR/summary.json` and, with charts and the safeguards checklist, to the self-contained `DIR/report.html`.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from warden import constants as c
from warden.adapters.audit_reader import DEFAULT_WORKERS, S3AuditReader
from warden.domain.report import InvalidWindowError, ReportBuilder, ReportWindow, ReviewEvidence
from warden.domain.safeguards import safeguards_checklist
from warden.errors import StorageError
from warden.models import AuditRecord
from warden.tenants_cli import (
    DEFAULT_STACK,
    ClientFactory,
    TenantCommandError,
    botocore_clients,
    load_deployment_config,
)

SUMMARY_FILE = "summary.json"
REPORT_FILE = "report.html"


class ReportCommandError(Exception):
    """A problem the operator can fix (no bucket, stack not found, bad window): exit code 2, no traceback."""


@dataclass(frozen=True)
class ReportSource:
    bucket: str
    cases_table: str | None
    clients: ClientFactory
    where: str


class ProgressBar:
    """A one-line progress bar on stderr, redrawn only when the shown percentage changes."""

    def __init__(self, stream: TextIO, label: str, width: int = 30):
        self.stream = stream
        self.label = label
        self.width = width
        self.shown = -1

    def __call__(self, done: int, total: int) -> None:
        percent = 100 * done // total if total else 100
        if percent == self.shown:
            return
        self.shown = percent
        filled = self.width * percent // 100
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\r{self.label} [{bar}] {done:,}/{total:,} ({percent}%)")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


def resolve_source(args: argparse.Namespace, clients: ClientFactory | None) -> ReportSource:
    if args.local:
        port = int(os.environ.get(c.ENV_LOCAL_AWS_PORT, c.DEFAULT_LOCAL_AWS_PORT))
        factory = clients or botocore_clients(
            f"http://127.0.0.1:{port}", c.LOCAL_REGION, local=True, max_pool_connections=args.workers
        )
        return ReportSource(
            args.bucket or c.LOCAL_AUDIT_BUCKET, args.cases_table or c.LOCAL_CASES_TABLE, factory, "local stack"
        )
    factory = clients or botocore_clients(None, args.region, local=False, max_pool_connections=args.workers)
    if args.bucket:
        return ReportSource(args.bucket, args.cases_table, factory, f"s3://{args.bucket}")
    from warden.adapters.stack_outputs import StackNotFoundError, stack_outputs

    try:
        outputs = stack_outputs(factory("cloudformation"), args.stack)
    except StackNotFoundError as error:
        raise ReportCommandError(f"{error} (or name the bucket with --bucket)") from error
    if c.OUTPUT_AUDIT_BUCKET not in outputs:
        raise ReportCommandError(f"stack '{args.stack}' has no output {c.OUTPUT_AUDIT_BUCKET}: is it a Warden stack?")
    cases_table = args.cases_table or outputs.get(c.OUTPUT_CASES_TABLE)
    return ReportSource(outputs[c.OUTPUT_AUDIT_BUCKET], cases_table, factory, f"stack {args.stack}")


def _review_evidence(source: ReportSource) -> ReviewEvidence:
    if source.cases_table is None:
        return ReviewEvidence(note="no review cases table given (--cases-table, or the stack's outputs)")
    from warden.adapters.review_outcomes import read_review_evidence

    return read_review_evidence(source.clients("dynamodb"), source.cases_table)


def build_summary(
    args: argparse.Namespace, source: ReportSource, err: TextIO, window: ReportWindow
) -> tuple[dict[str, Any], int]:
    """Read the window's records and compute the figures; returns the summary and how many records were read."""
    config = load_deployment_config(args.config)
    thresholds = (
        {category: policy.threshold for category, policy in config.screening.categories.items()} if config else None
    )
    builder = ReportBuilder(window, thresholds)
    reader = S3AuditReader(source.clients("s3"), source.bucket, workers=args.workers)
    partitions = window.partitions()
    listed = reader.list_partitions(partitions)
    empty = [partition for partition, keys in listed.items() if not keys]
    keys = [key for partition_keys in listed.values() for key in partition_keys]
    err.write(
        f"{len(keys):,} records in {len(partitions) - len(empty)} of {len(partitions)} hour partitions "
        f"of s3://{source.bucket} ({source.where})\n"
    )
    unreadable = 0
    for body in reader.bodies(keys, ProgressBar(err, "reading records")):
        try:
            record = AuditRecord.model_validate_json(body)
        except ValidationError:
            unreadable += 1
            continue
        if args.tenant is None or record.tenant_id == args.tenant:
            builder.add(record)
    summary = builder.summary(_review_evidence(source), empty, tenant=args.tenant, unreadable=unreadable)
    for day in summary["partitions"]["empty_days"]:
        err.write(f"note: no records on {day} (partition dt={day} is empty)\n")
    summary["safeguards"] = [check.as_json() for check in safeguards_checklist(config, summary)]
    return summary, len(keys)


def run_report(
    args: argparse.Namespace,
    err: TextIO,
    clients: ClientFactory | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> int:
    from botocore.exceptions import BotoCoreError

    from warden.report_html import render_report

    started = time.perf_counter()
    try:
        window = ReportWindow.since(args.since, clock())  # a bad --since is refused before any AWS call
        source = resolve_source(args, clients)
        summary, read = build_summary(args, source, err, window)
    except (InvalidWindowError, TenantCommandError) as error:
        raise ReportCommandError(str(error)) from error
    except StorageError as error:
        raise ReportCommandError(f"{error}") from error
    except BotoCoreError as error:  # no region or no credentials configured, an endpoint out of reach
        raise ReportCommandError(f"AWS: {error} (pass --region, configure credentials, or use --local)") from error
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    (out / SUMMARY_FILE).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    (out / REPORT_FILE).write_text(render_report(summary), encoding="utf-8")
    err.write(
        f"{summary['requests']:,} of {read:,} records in the report ({time.perf_counter() - started:.1f} s): "
        f"{out / REPORT_FILE}, {out / SUMMARY_FILE}\n"
    )
    return 0


def add_report_command(commands: Any, run: Callable[[argparse.Namespace], int]) -> None:
    """The `warden report` subcommand; `run` is called with the parsed arguments."""
    report = commands.add_parser("report", help="self-evaluation from the audit records: summary.json and report.html")
    report.add_argument("--since", default="7d", help="window ending now: hours, days or weeks (24h, 7d, 2w)")
    report.add_argument("--out", type=Path, required=True, help="directory for report.html and summary.json")
    report.add_argument("--tenant", help="only this tenant's records")
    where = report.add_mutually_exclusive_group()
    where.add_argument("--local", action="store_true", help="the local stack (`warden local`, WARDEN_AWS_PORT)")
    where.add_argument("--stack", default=DEFAULT_STACK, help=f"deployed stack name (default {DEFAULT_STACK})")
    report.add_argument("--bucket", help="audit bucket (instead of the stack's AuditBucketName output)")
    report.add_argument("--cases-table", help="review cases table (instead of the stack's output)")
    report.add_argument("--region", help="AWS region of the deployed stack (default: your AWS configuration)")
    report.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help="parallel S3 reads")
    report.add_argument(
        "--config", type=Path, default=Path("cdk.json"), help="deployment config (for the safeguards checklist)"
    )
    report.set_defaults(func=run)
