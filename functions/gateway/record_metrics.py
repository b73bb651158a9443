"""The gateway's per-record metrics: what the dashboard charts and the block-rate and moderator alarms watch."""

from __future__ import annotations

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit
from warden.config import ScreenerName
from warden.constants import (
    METRIC_MODERATOR_FAILURES,
    METRIC_REQUESTS_BLOCKED,
    METRIC_REQUESTS_FLAGGED,
    METRIC_REQUESTS_RECORDED,
)
from warden.models import AuditRecord, Decision

# Metrics instances share one metric set: the handler's `log_metrics` flushes these with its own.
metrics = Metrics()
_DECISION_METRICS = {Decision.BLOCKED: METRIC_REQUESTS_BLOCKED, Decision.FLAGGED: METRIC_REQUESTS_FLAGGED}


def count_record(record: AuditRecord) -> None:
    """Count one stored record: every request, its decision, and a moderator call that failed."""
    metrics.add_metric(name=METRIC_REQUESTS_RECORDED, unit=MetricUnit.Count, value=1)
    if record.decision in _DECISION_METRICS:
        metrics.add_metric(name=_DECISION_METRICS[record.decision], unit=MetricUnit.Count, value=1)
    outcomes = [record.screening, *([record.output_screening] if record.output_screening else [])]
    verdicts = [verdict for outcome in outcomes for verdict in outcome.verdicts]
    failures = sum(verdict.failed for verdict in verdicts if verdict.screener == ScreenerName.MODERATOR)
    if failures:
        metrics.add_metric(name=METRIC_MODERATOR_FAILURES, unit=MetricUnit.Count, value=failures)
