"""Review cases in DynamoDB, created exactly once per (request, source), listed in priority order."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from warden.adapters.aws import client
from warden.constants import (
    CASES_INDEXES,
    CASES_STATUS_INDEX,
    CASES_STATUS_INDEX_PK,
    CASES_STATUS_INDEX_SK,
    CASES_TABLE,
    CASES_TENANT_INDEX,
    CASES_USER_INDEX,
)
from warden.errors import StorageError
from warden.models import CasePage, CaseStatus, ReviewCase

# Set once the priority notice of a case is claimed for publishing (see `warden.domain.review.open_review_case`).
NOTIFIED_AT = "notified_at"
MAX_PAGE_SIZE = 100


class InvalidCursorError(ValueError):
    """A pagination cursor this store did not hand out (or one for another listing)."""


def _item(case: ReviewCase) -> dict[str, Any]:
    return {
        CASES_TABLE.partition_key: {"S": case.case_id},
        "request_id": {"S": case.request_id},
        "source": {"S": case.source.value},
        "tenant_id": {"S": case.tenant_id},
        "user_hash": {"S": case.user_hash},
        "categories": {"L": [{"S": c.value} for c in case.categories]},
        "decision": {"S": case.decision.value},
        "s3_key": {"S": case.s3_key},
        "priority": {"N": str(case.priority)},
        CASES_STATUS_INDEX_PK: {"S": case.status.value},
        CASES_STATUS_INDEX_SK: {"S": f"{case.priority:02d}#{case.created_at}"},
        "created_at": {"S": case.created_at},
        "queued_at": {"S": case.queued_at},
        "sla_due_at": {"S": case.sla_due_at},
    }


def _case(item: dict[str, Any]) -> ReviewCase:
    return ReviewCase.model_validate(
        {
            "case_id": item[CASES_TABLE.partition_key]["S"],
            "request_id": item["request_id"]["S"],
            "source": item["source"]["S"],
            "tenant_id": item["tenant_id"]["S"],
            "user_hash": item["user_hash"]["S"],
            "categories": [value["S"] for value in item["categories"]["L"]],
            "decision": item["decision"]["S"],
            "s3_key": item["s3_key"]["S"],
            "priority": int(item["priority"]["N"]),
            "status": item[CASES_STATUS_INDEX_PK]["S"],
            "created_at": item["created_at"]["S"],
            "queued_at": item["queued_at"]["S"],
            "sla_due_at": item["sla_due_at"]["S"],
        }
    )


def _cursor_keys(index: str) -> set[str]:
    return {CASES_TABLE.partition_key, CASES_INDEXES[index], CASES_STATUS_INDEX_SK}


def encode_cursor(index: str, last_key: dict[str, Any]) -> str:
    """The query's LastEvaluatedKey as an opaque url-safe token (it names the listing it belongs to)."""
    plain = {name: value["S"] for name, value in last_key.items()}
    return base64.urlsafe_b64encode(json.dumps({"i": index, "k": plain}, sort_keys=True).encode()).decode()


def decode_cursor(index: str, cursor: str) -> dict[str, Any]:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as error:
        raise InvalidCursorError("the cursor is not one this listing handed out") from error
    keys = decoded.get("k") if isinstance(decoded, dict) else None
    if (
        not isinstance(keys, dict)
        or decoded.get("i") != index
        or set(keys) != _cursor_keys(index)
        or not all(isinstance(value, str) for value in keys.values())
    ):
        raise InvalidCursorError("the cursor is not one this listing handed out")
    return {name: {"S": value} for name, value in keys.items()}


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code"))


class DynamoCaseStore:
    def __init__(self, table_name: str):
        self.table_name = table_name

    def create(self, case: ReviewCase) -> bool:
        """Create the case; False when it already exists (the item was delivered before)."""
        return self._write_once(
            "case write",
            "put_item",
            Item=_item(case),
            ConditionExpression=f"attribute_not_exists({CASES_TABLE.partition_key})",
        )

    def claim_notification(self, case_id: str, at: str) -> bool:
        """Mark the case's priority notice as being sent; False when it was claimed before."""
        return self._write_once(
            "case notification claim",
            "update_item",
            Key={CASES_TABLE.partition_key: {"S": case_id}},
            UpdateExpression="SET #n = :at",
            ConditionExpression=f"attribute_exists({CASES_TABLE.partition_key}) AND attribute_not_exists(#n)",
            ExpressionAttributeNames={"#n": NOTIFIED_AT},
            ExpressionAttributeValues={":at": {"S": at}},
        )

    def _write_once(self, what: str, operation: str, **request: Any) -> bool:
        """A conditional write; False when its condition failed (it was done before)."""
        try:
            getattr(client("dynamodb"), operation)(TableName=self.table_name, **request)
        except ClientError as error:
            if _error_code(error) == "ConditionalCheckFailedException":
                return False
            raise StorageError(f"{what} failed: {_error_code(error)}") from error
        except BotoCoreError as error:
            raise StorageError(f"{what} failed: {type(error).__name__}") from error
        return True

    def release_notification(self, case_id: str) -> None:
        """Give back a claim whose notice could not be published, so a retry publishes it."""
        try:
            client("dynamodb").update_item(
                TableName=self.table_name,
                Key={CASES_TABLE.partition_key: {"S": case_id}},
                UpdateExpression="REMOVE #n",
                ExpressionAttributeNames={"#n": NOTIFIED_AT},
            )
        except (ClientError, BotoCoreError) as error:
            raise StorageError(f"case notification release failed: {type(error).__name__}") from error

    def list_by_status(self, status: CaseStatus, limit: int = 50, cursor: str | None = None) -> CasePage:
        """Cases with a status, highest priority (lowest number) and oldest first."""
        return self._list(CASES_STATUS_INDEX, status.value, limit, cursor)

    def list_by_tenant(self, tenant_id: str, limit: int = 50, cursor: str | None = None) -> CasePage:
        """A tenant's cases of every status, highest priority and oldest first."""
        return self._list(CASES_TENANT_INDEX, tenant_id, limit, cursor)

    def list_by_user(self, user_hash: str, limit: int = 50, cursor: str | None = None) -> CasePage:
        """One end user's cases of every status, highest priority and oldest first."""
        return self._list(CASES_USER_INDEX, user_hash, limit, cursor)

    def _list(self, index: str, key: str, limit: int, cursor: str | None) -> CasePage:
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}")
        query: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": index,
            "KeyConditionExpression": "#k = :k",
            "ExpressionAttributeNames": {"#k": CASES_INDEXES[index]},
            "ExpressionAttributeValues": {":k": {"S": key}},
            "ScanIndexForward": True,
            "Limit": limit,
        }
        if cursor is not None:
            start = decode_cursor(index, cursor)
            if start[CASES_INDEXES[index]]["S"] != key:
                raise InvalidCursorError("the cursor belongs to another listing")
            query["ExclusiveStartKey"] = start
        try:
            response = client("dynamodb").query(**query)
        except (ClientError, BotoCoreError) as error:
            raise StorageError(f"case query failed: {type(error).__name__}") from error
        last_key = response.get("LastEvaluatedKey")
        return CasePage(
            cases=[_case(item) for item in response.get("Items", [])],
            cursor=encode_cursor(index, last_key) if last_key else None,
        )

    def get(self, case_id: str) -> ReviewCase | None:
        try:
            response = client("dynamodb").get_item(
                TableName=self.table_name, Key={CASES_TABLE.partition_key: {"S": case_id}}, ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as error:
            raise StorageError(f"case read failed: {type(error).__name__}") from error
        item = response.get("Item")
        return _case(item) if item else None


__all__ = ["CASES_STATUS_INDEX_SK", "DynamoCaseStore", "InvalidCursorError"]
