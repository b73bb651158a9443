"""The review priority topic on SNS: told of each new child-safety case, by reference only."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from warden.adapters.aws import client
from warden.errors import StorageError
from warden.models import PriorityCaseNotice

# SNS subjects are ASCII, at most 100 characters; the case id (request id + source) fits well within.
SUBJECT = "Warden: priority review case {case_id}"


class SnsCaseNotifier:
    def __init__(self, topic_arn: str):
        self.topic_arn = topic_arn

    def publish(self, notice: PriorityCaseNotice) -> None:
        try:
            client("sns").publish(
                TopicArn=self.topic_arn,
                Subject=SUBJECT.format(case_id=notice.case_id)[:100],
                Message=notice.model_dump_json(indent=2),
                MessageAttributes={"priority": {"DataType": "Number", "StringValue": str(notice.priority)}},
            )
        except (ClientError, BotoCoreError) as error:
            raise StorageError(f"priority case notice failed: {type(error).__name__}") from error
