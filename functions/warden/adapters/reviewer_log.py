"""The append-only reviewer action log, kept in the review cases table.

One item per action (case_id = ACTION#<action id>), written only with a condition that it does not exist yet,
usually inside the transaction of the change it records. This module has no update or delete path, and the
items carry none of the attributes the case indexes use, so they never show in a case listing.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from warden.adapters.aws import client
from warden.constants import (
    ACTIONS_CASE_ATTRIBUTE,
    ACTIONS_INDEX_SK,
    ACTIONS_USER_INDEX,
    ACTIONS_USER_INDEX_PK,
    CASES_TABLE,
    REVIEWER_ACTION_KEY_PREFIX,
)
from warden.errors import ConflictError, StorageError
from warden.models import ReviewerAction


def action_put(table_name: str, action: ReviewerAction) -> dict[str, Any]:
    """The log entry as one `Put` of a transaction: it never overwrites an entry."""
    item: dict[str, Any] = {
        CASES_TABLE.partition_key: {"S": REVIEWER_ACTION_KEY_PREFIX + action.action_id},
        ACTIONS_INDEX_SK: {"S": action.action_id},
        "action": {"S": action.action.value},
        "reviewer": {"S": action.reviewer},
        "at": {"S": action.at},
        ACTIONS_USER_INDEX_PK: {"S": action.user_hash},
    }
    if action.case_id is not None:
        item[ACTIONS_CASE_ATTRIBUTE] = {"S": action.case_id}
    if action.reason is not None:
        item["reason"] = {"S": action.reason}
    return {
        "TableName": table_name,
        "Item": item,
        "ConditionExpression": f"attribute_not_exists({CASES_TABLE.partition_key})",
    }


def _action(item: dict[str, Any]) -> ReviewerAction:
    return ReviewerAction(
        action_id=item[ACTIONS_INDEX_SK]["S"],
        action=item["action"]["S"],
        reviewer=item["reviewer"]["S"],
        at=item["at"]["S"],
        user_hash=item[ACTIONS_USER_INDEX_PK]["S"],
        case_id=item[ACTIONS_CASE_ATTRIBUTE]["S"] if ACTIONS_CASE_ATTRIBUTE in item else None,
        reason=item["reason"]["S"] if "reason" in item else None,
    )


class DynamoReviewerLog:
    def __init__(self, table_name: str):
        self.table_name = table_name

    def append(self, action: ReviewerAction) -> None:
        """Write one entry on its own; an entry with the same id is never overwritten (ConflictError)."""
        try:
            client("dynamodb").put_item(**action_put(self.table_name, action))
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code"))
            if code == "ConditionalCheckFailedException":
                raise ConflictError(f"reviewer action {action.action_id} is already recorded") from error
            raise StorageError(f"reviewer action write failed: {code}") from error
        except BotoCoreError as error:
            raise StorageError(f"reviewer action write failed: {type(error).__name__}") from error

    def list_by_case(self, case_id: str, user_hash: str) -> list[ReviewerAction]:
        """A case's actions, oldest first (found among its user's: `user_hash` is the case's)."""
        return self._list(user_hash, case_id)

    def list_by_user(self, user_hash: str) -> list[ReviewerAction]:
        """Every action on a user or one of their cases, oldest first."""
        return self._list(user_hash, None)

    def _list(self, user_hash: str, case_id: str | None) -> list[ReviewerAction]:
        query: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": ACTIONS_USER_INDEX,
            "KeyConditionExpression": "#u = :u",
            "ExpressionAttributeNames": {"#u": ACTIONS_USER_INDEX_PK},
            "ExpressionAttributeValues": {":u": {"S": user_hash}},
            "ScanIndexForward": True,
        }
        if case_id is not None:
            query["FilterExpression"] = "#c = :c"
            query["ExpressionAttributeNames"]["#c"] = ACTIONS_CASE_ATTRIBUTE
            query["ExpressionAttributeValues"][":c"] = {"S": case_id}
        items: list[dict[str, Any]] = []
        try:
            while True:
                response = client("dynamodb").query(**query)
                items.extend(response.get("Items", []))
                if "LastEvaluatedKey" not in response:
                    break
                query["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        except (ClientError, BotoCoreError) as error:
            raise StorageError(f"reviewer action query failed: {type(error).__name__}") from error
        return [_action(item) for item in items]
