"""The one way this stack builds a work queue: TLS-only, encrypted, 14-day retention, with its own DLQ."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

QUEUE_RETENTION = Duration.days(14)


def queue_with_dlq(
    scope: Construct,
    queue_id: str,
    dlq_id: str,
    *,
    visibility_timeout: Duration,
    max_receive_count: int,
    key: kms.IKey | None = None,
) -> tuple[sqs.Queue, sqs.Queue]:
    """A queue and its dead-letter queue; with `key`, both are encrypted with it, else SQS-managed."""
    encryption = (
        {"encryption": sqs.QueueEncryption.KMS, "encryption_master_key": key}
        if key is not None
        else {"encryption": sqs.QueueEncryption.SQS_MANAGED}
    )
    dlq = sqs.Queue(scope, dlq_id, enforce_ssl=True, retention_period=QUEUE_RETENTION, **encryption)
    queue = sqs.Queue(
        scope,
        queue_id,
        enforce_ssl=True,
        retention_period=QUEUE_RETENTION,
        visibility_timeout=visibility_timeout,
        dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=max_receive_count),
        **encryption,
    )
    return queue, dlq
