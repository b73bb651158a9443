"""The review Lambda: review items from SQS become review cases in DynamoDB, once each, with a bounded retry."""

from __future__ import annotations

import copy
import json
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from warden import constants as c
from warden.ids import new_request_id
from warden_local.consumer import QueueConsumer

from tests.conftest import load_event
from tests.integration.conftest import AwsStack
from tests.integration.helpers import drain_queue


def review_event() -> dict[str, Any]:
    """`events/review/review_item.json` with a fresh request id (cases and idempotency records outlive a test)."""
    event = load_event("review", "review_item")
    record = event["Records"][0]
    item = json.loads(record["body"])
    item["request_id"] = new_request_id()
    item["s3_key"] = item["s3_key"].rsplit("/", 1)[0] + f"/{item['request_id']}.json"
    record["body"] = json.dumps(item)
    record["messageId"] = str(uuid.uuid4())
    return event


def redelivered(record: dict[str, Any]) -> dict[str, Any]:
    """The same SQS message delivered again: same id and body, a new receipt."""
    again = copy.deepcopy(record)
    again["receiptHandle"] = secrets.token_urlsafe(32)
    again["attributes"]["ApproximateReceiveCount"] = "2"
    return again


def item_of(event: dict[str, Any], index: int = 0) -> dict[str, Any]:
    item: dict[str, Any] = json.loads(event["Records"][index]["body"])
    return item


@pytest.fixture
def review_handler(aws: AwsStack, environment: Callable[..., None]) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    from review.handler import lambda_handler

    return lambda_handler


@pytest.fixture
def deliver(
    review_handler: Callable[[dict[str, Any], Any], dict[str, Any]], lambda_context: Callable[[str], Any]
) -> Callable[[dict[str, Any]], set[str]]:
    """Invoke the review Lambda as its SQS event source does; return the ids of the messages left for retry.

    A batch whose every record failed makes the handler raise, and the event source then retries the whole batch.
    """
    from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

    def invoke(event: dict[str, Any]) -> set[str]:
        try:
            response = review_handler(event, lambda_context("warden-review"))
        except BatchProcessingError:
            return {record["messageId"] for record in event["Records"]}
        return {failure["itemIdentifier"] for failure in response["batchItemFailures"]}

    return invoke


def cases_for(dynamodb: Any, aws: AwsStack, request_id: str) -> list[dict[str, Any]]:
    """Every case about one request, whatever its key (a scan, so a duplicate under another key shows up too)."""
    pages = dynamodb.get_paginator("scan").paginate(
        TableName=aws.resources.cases_table,
        FilterExpression="request_id = :r",
        ExpressionAttributeValues={":r": {"S": request_id}},
        ConsistentRead=True,
    )
    return [item for page in pages for item in page["Items"]]


def test_review_item_opens_one_open_case(
    aws: AwsStack, deliver: Callable[[dict[str, Any]], set[str]], dynamodb: Any
) -> None:
    event = review_event()
    item = item_of(event)

    deliver(event)

    [case] = cases_for(dynamodb, aws, item["request_id"])
    assert case[c.CASES_TABLE.partition_key]["S"] == f"{item['request_id']}.input"
    assert case[c.CASES_STATUS_INDEX_PK]["S"] == "open"
    assert case["priority"]["N"] == str(item["priority"])
    assert case["s3_key"]["S"] == item["s3_key"]
    assert case["user_hash"]["S"] == item["user_hash"]
    assert [value["S"] for value in case["categories"]["L"]] == item["categories"]


def test_review_item_that_opened_a_case_is_not_reported_as_failed(
    deliver: Callable[[dict[str, Any]], set[str]],
) -> None:
    assert deliver(review_event()) == set()


def test_message_delivered_twice_in_two_invocations_opens_one_case(
    aws: AwsStack, deliver: Callable[[dict[str, Any]], set[str]], dynamodb: Any
) -> None:
    event = review_event()
    again = {"Records": [redelivered(event["Records"][0])]}

    deliver(event)
    deliver(again)

    assert len(cases_for(dynamodb, aws, item_of(event)["request_id"])) == 1


def test_message_delivered_twice_in_one_batch_opens_one_case(
    aws: AwsStack, deliver: Callable[[dict[str, Any]], set[str]], dynamodb: Any
) -> None:
    event = review_event()
    event["Records"].append(redelivered(event["Records"][0]))

    deliver(event)

    assert len(cases_for(dynamodb, aws, item_of(event)["request_id"])) == 1


@pytest.fixture
def batch_with_malformed_message() -> tuple[dict[str, Any], str]:
    """A good review item after a message that is not a review item; returns the event and the bad message id."""
    event = review_event()
    malformed = copy.deepcopy(event["Records"][0])
    malformed["messageId"] = str(uuid.uuid4())
    malformed["body"] = json.dumps({"request_id": new_request_id(), "priority": "urgent"})
    event["Records"].insert(0, malformed)
    return event, malformed["messageId"]


def test_malformed_message_is_the_only_batch_failure(
    deliver: Callable[[dict[str, Any]], set[str]], batch_with_malformed_message: tuple[dict[str, Any], str]
) -> None:
    event, malformed_id = batch_with_malformed_message

    assert deliver(event) == {malformed_id}


def test_malformed_message_does_not_stop_the_good_one_in_its_batch(
    aws: AwsStack,
    deliver: Callable[[dict[str, Any]], set[str]],
    dynamodb: Any,
    batch_with_malformed_message: tuple[dict[str, Any], str],
) -> None:
    event, malformed_id = batch_with_malformed_message

    assert malformed_id in deliver(event)
    assert len(cases_for(dynamodb, aws, item_of(event, 1)["request_id"])) == 1


def test_poison_message_ends_in_the_dead_letter_queue_after_bounded_retries(
    aws: AwsStack, review_handler: Callable[[dict[str, Any], Any], dict[str, Any]], sqs: Any
) -> None:
    # Given a message the review Lambda can never process, alone on the real review queue
    queue_url, dlq_url = aws.resources.review_queue_url, aws.resources.review_dlq_url
    drain_queue(sqs, queue_url)
    poison = json.dumps({"not": "a review item", "marker": secrets.token_hex(8)})
    sqs.send_message(QueueUrl=queue_url, MessageBody=poison)
    consumer = QueueConsumer(queue_url, review_handler, "warden-review", aws.endpoint_url, aws.resources.region)

    # When the event source keeps polling (visibility timeout 1 s in these fixtures)
    receives = 0
    dead: list[dict[str, Any]] = []
    deadline = time.monotonic() + 30
    while not dead and time.monotonic() < deadline:
        receives += consumer.poll_once(wait_seconds=1)
        dead = [m for m in drain_queue(sqs, dlq_url) if m["Body"] == poison]

    # Then after maxReceiveCount attempts it is in the DLQ and no longer on the queue
    assert len(dead) == 1
    assert receives == c.REVIEW_MAX_RECEIVE_COUNT
    assert drain_queue(sqs, queue_url) == []


def test_good_review_item_is_consumed_once_from_the_real_queue(
    aws: AwsStack, review_handler: Callable[[dict[str, Any], Any], dict[str, Any]], sqs: Any
) -> None:
    # Given one good review item alone on the real review queue
    queue_url = aws.resources.review_queue_url
    drain_queue(sqs, queue_url)
    sqs.send_message(QueueUrl=queue_url, MessageBody=review_event()["Records"][0]["body"])
    consumer = QueueConsumer(queue_url, review_handler, "warden-review", aws.endpoint_url, aws.resources.region)

    # When the event source polls, and polls again after the visibility timeout (1 s) has passed
    first = consumer.poll_once(wait_seconds=1)
    time.sleep(1.2)
    second = consumer.poll_once(wait_seconds=0)

    # Then it was handled once and deleted, not redelivered
    assert (first, second) == (1, 0)


@pytest.fixture(scope="module")
def topic_inbox(aws: AwsStack) -> Iterator[str]:
    """An SQS queue subscribed (raw) to the priority topic, to see what the topic was told."""
    sqs, sns = aws.client("sqs"), aws.client("sns")
    url = sqs.create_queue(QueueName="priority-topic-inbox-" + secrets.token_hex(4))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    subscription = sns.subscribe(
        TopicArn=aws.resources.review_priority_topic_arn,
        Protocol="sqs",
        Endpoint=arn,
        Attributes={"RawMessageDelivery": "true"},
    )["SubscriptionArn"]
    yield url
    sns.unsubscribe(SubscriptionArn=subscription)
    sqs.delete_queue(QueueUrl=url)


def notices_for(sqs: Any, inbox: str, request_id: str) -> list[dict[str, Any]]:
    notices = [json.loads(message["Body"]) for message in drain_queue(sqs, inbox)]
    return [notice for notice in notices if notice["request_id"] == request_id]


def child_safety_event() -> dict[str, Any]:
    event = review_event()
    record = event["Records"][0]
    item = json.loads(record["body"])
    item.update(categories=["child_safety"], priority=0)
    record["body"] = json.dumps(item)
    return event


def test_new_child_safety_case_is_published_once_despite_redelivery(
    deliver: Callable[[dict[str, Any]], set[str]], sqs: Any, topic_inbox: str
) -> None:
    # Given a child-safety review item, delivered, then delivered again
    event = child_safety_event()
    item = json.loads(event["Records"][0]["body"])

    deliver(event)
    deliver({"Records": [redelivered(event["Records"][0])]})

    # Then the topic was told once, by reference only
    [notice] = notices_for(sqs, topic_inbox, item["request_id"])
    assert set(notice) == {"case_id", "request_id", "tenant_id", "categories", "priority", "sla_due_at"}
    assert (notice["case_id"], notice["tenant_id"], notice["priority"]) == (
        f"{item['request_id']}.input",
        item["tenant_id"],
        0,
    )
    assert item["user_hash"] not in json.dumps(notice)


def test_ordinary_case_is_not_published(
    deliver: Callable[[dict[str, Any]], set[str]], sqs: Any, topic_inbox: str
) -> None:
    event = review_event()

    deliver(event)

    assert notices_for(sqs, topic_inbox, json.loads(event["Records"][0]["body"])["request_id"]) == []
