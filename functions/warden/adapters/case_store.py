"""Review cases in DynamoDB, created exactly once per (request, source)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from warden.adapters.aws import client
from warden.constants import CASES_STATUS_INDEX, CASES_STATUS_INDEX_PK, CASES_STATUS_INDEX_SK, CASES_TABLE
from warden.errors import StorageError
from warden.models import ReviewCase


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
        }
    )


class DynamoCaseStore:
    def __init__(self, table_name: str):
        self.table_name = table_name

    def create(self, case: ReviewCase) -> bool:
        """Create the case; False when it already exists (the item was delivered before)."""
        try:
            client("dynamodb").put_item(
                TableName=self.table_name,
                Item=_item(case),
                ConditionExpression=f"attribute_not_exists({CASES_TABLE.partition_key})",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise StorageError(f"case write failed: {error.response.get('Error', {}).get('Code')}") from error
        except BotoCoreError as error:
            raise StorageError(f"case write failed: {type(error).__name__}") from error
        return True

    def list_by_status(self, status: str, limit: int = 50) -> list[ReviewCase]:
        """Cases with a status, highest priority (lowest number) and oldest first."""
        try:
            response = client("dynamodb").query(
                TableName=self.table_name,
                IndexName=CASES_STATUS_INDEX,
                KeyConditionExpression="#s = :s",
                ExpressionAttributeNames={"#s": CASES_STATUS_INDEX_PK},
                ExpressionAttributeValues={":s": {"S": status}},
                Limit=limit,
            )
        except (ClientError, BotoCoreError) as error:
            raise StorageError(f"case query failed: {type(error).__name__}") from error
        return [_case(item) for item in response.get("Items", [])]

    def get(self, case_id: str) -> ReviewCase | None:
        try:
            response = client("dynamodb").get_item(
                TableName=self.table_name, Key={CASES_TABLE.partition_key: {"S": case_id}}, ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as error:
            raise StorageError(f"case read failed: {type(error).__name__}") from error
        item = response.get("Item")
        return _case(item) if item else None


__all__ = ["CASES_STATUS_INDEX_SK", "DynamoCaseStore"]
