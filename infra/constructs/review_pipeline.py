"""Human review of flagged requests: the review queue (+ DLQ), the review cases table and the idempotency table."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct
from warden.config import ReviewConfig
from warden.constants import (
    ACTIONS_INDEX_SK,
    ACTIONS_USER_INDEX,
    ACTIONS_USER_INDEX_PK,
    CASES_INDEXES,
    CASES_STATUS_INDEX_SK,
    CASES_TABLE,
    IDEMPOTENCY_TABLE,
    REVIEW_MAX_RECEIVE_COUNT,
)

from infra.constructs._dynamodb import table_from_shape
from infra.constructs._sns import encrypted_topic
from infra.constructs._sqs import queue_with_dlq


class ReviewPipeline(Construct):
    """Review items (references to audit records, never content) queued for the review function.

    The queue uses SQS-managed encryption: its messages carry ids, categories and S3 keys, not prompts.
    New child-safety cases are also published to the priority topic (references only), mailed to
    `review.notify_emails`.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, visibility_timeout: Duration, config: ReviewConfig
    ) -> None:
        super().__init__(scope, construct_id)
        self.queue, self.dlq = queue_with_dlq(
            self,
            "ReviewQueue",
            "ReviewDlq",
            visibility_timeout=visibility_timeout,
            max_receive_count=REVIEW_MAX_RECEIVE_COUNT,
        )
        self.cases_table = self._build_cases_table()
        self.idempotency_table = self._build_idempotency_table()
        self.priority_topic = self._build_priority_topic(config.notify_emails)

    def _build_cases_table(self) -> dynamodb.Table:
        table = table_from_shape(self, "CasesTable", CASES_TABLE)
        # Listed by status, tenant and user; each index sorts by priority, then creation time.
        for index_name, partition_key in CASES_INDEXES.items():
            table.add_global_secondary_index(
                index_name=index_name,
                partition_key=dynamodb.Attribute(name=partition_key, type=dynamodb.AttributeType.STRING),
                sort_key=dynamodb.Attribute(name=CASES_STATUS_INDEX_SK, type=dynamodb.AttributeType.STRING),
                projection_type=dynamodb.ProjectionType.ALL,
            )
        # The reviewer action log (items in this table) listed per user, oldest first; sparse: cases lack its key.
        table.add_global_secondary_index(
            index_name=ACTIONS_USER_INDEX,
            partition_key=dynamodb.Attribute(name=ACTIONS_USER_INDEX_PK, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=ACTIONS_INDEX_SK, type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.ALL,
        )
        return table

    def _build_priority_topic(self, notify_emails: tuple[str, ...]) -> sns.Topic:
        topic = encrypted_topic(self, "PriorityTopic", display_name="Warden priority review cases")
        for email in notify_emails:
            topic.add_subscription(subscriptions.EmailSubscription(email))
        return topic

    def _build_idempotency_table(self) -> dynamodb.Table:
        # Short-lived idempotency records (TTL-expired): nothing worth keeping after the stack is gone.
        return table_from_shape(self, "IdempotencyTable", IDEMPOTENCY_TABLE, removal_policy=RemovalPolicy.DESTROY)
