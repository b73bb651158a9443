"""The review queue on SQS: references to flagged and blocked items, never their content."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from warden.adapters.aws import client
from warden.errors import StorageError
from warden.models import ReviewItem


class SqsReviewQueue:
    def __init__(self, queue_url: str):
        self.queue_url = queue_url

    def enqueue(self, item: ReviewItem) -> None:
        try:
            client("sqs").send_message(
                QueueUrl=self.queue_url,
                MessageBody=item.model_dump_json(),
                MessageAttributes={"priority": {"DataType": "Number", "StringValue": str(item.priority)}},
            )
        except (ClientError, BotoCoreError) as error:
            raise StorageError(f"review queue send failed: {type(error).__name__}") from error
