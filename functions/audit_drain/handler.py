"""Audit-drain Lambda: writes audit records that reached the fallback queue (S3 was down) into S3."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from warden.adapters.audit_store import S3AuditStore, decode_fallback
from warden.settings import audit_drain_settings

logger = Logger()
tracer = Tracer()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)


@cache
def store() -> S3AuditStore:
    settings = audit_drain_settings()
    return S3AuditStore(settings.audit_bucket, settings.audit_fallback_queue_url)


def record_handler(record: SQSRecord) -> str:
    key, body = decode_fallback(record.body)
    # Same key as the original write, so a redelivery overwrites rather than duplicates.
    store().put(key, body)
    metrics.add_metric(name="AuditRecordsDrained", unit=MetricUnit.Count, value=1)
    return key


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
