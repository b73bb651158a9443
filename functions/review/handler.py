"""Review Lambda: review items from SQS become review cases in DynamoDB, exactly once each."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from warden.adapters.case_notifier import SnsCaseNotifier
from warden.adapters.case_store import DynamoCaseStore
from warden.domain.review import open_review_case
from warden.models import ReviewItem
from warden.settings import review_settings

logger = Logger()
tracer = Tracer()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)

# The same item delivered twice (SQS is at-least-once) is handled once: keyed on request id and source.
idempotency_config = IdempotencyConfig(event_key_jmespath="[request_id, source]", expires_after_seconds=86_400)
persistence = DynamoDBPersistenceLayer(table_name=review_settings().idempotency_table)


@cache
def cases() -> DynamoCaseStore:
    return DynamoCaseStore(review_settings().cases_table)


@cache
def notifier() -> SnsCaseNotifier:
    return SnsCaseNotifier(review_settings().priority_topic_arn)


@idempotent_function(data_keyword_argument="item", config=idempotency_config, persistence_store=persistence)
def create_case(item: dict[str, Any]) -> dict[str, Any]:
    opened = open_review_case(
        ReviewItem.model_validate(item),
        now=datetime.now(UTC),
        sla=review_settings().config.review,
        store=cases(),
        notifier=notifier(),
    )
    case = opened.case
    if opened.created:
        metrics.add_metric(name="ReviewCasesCreated", unit=MetricUnit.Count, value=1)
    if opened.notified:
        metrics.add_metric(name="PriorityCaseNotices", unit=MetricUnit.Count, value=1)
    logger.info(
        "review case",
        extra={
            "case_id": case.case_id,
            "case_created": opened.created,
            "priority": case.priority,
            "sla_due_at": case.sla_due_at,
            "priority_notice": opened.notified,
        },
    )
    return {"case_id": case.case_id, "created": opened.created}


@tracer.capture_method
def record_handler(record: SQSRecord) -> dict[str, Any]:
    item = ReviewItem.model_validate_json(record.body)
    return create_case(item=item.model_dump(mode="json"))


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    idempotency_config.register_lambda_context(context)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
