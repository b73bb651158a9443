"""Review cases in DynamoDB, created exactly once per (request, source), listed in priority order, claimed and
decided with conditional writes that carry their reviewer action log entry in the same transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from warden.adapters.aws import client, transact_once
from warden.adapters.cursors import InvalidCursorError, decode_cursor, encode_cursor
from warden.adapters.reviewer_log import action_put
from warden.constants import (
    CASES_INDEXES,
    CASES_STATUS_INDEX,
    CASES_STATUS_INDEX_PK,
    CASES_STATUS_INDEX_SK,
    CASES_TABLE,
    CASES_TENANT_INDEX,
    CASES_USER_INDEX,
    FALSE_POSITIVES_KEY,
)
from warden.errors import StorageError
from warden.models import CasePage, CaseStatus, ReviewCase, ReviewerAction
from warden.taxonomy import Category

# Set once the priority notice of a case is claimed for publishing (see `warden.domain.review.open_review_case`).
NOTIFIED_AT = "notified_at"
MAX_PAGE_SIZE = 100
_FALSE_POSITIVE_PREFIX = "fp#"
# Optional string attributes a reviewer's actions add to a case.
_REVIEW_FIELDS = ("claimed_by", "claimed_at", "review_decision", "decided_by", "decided_at", "note")


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
        CASES_STATUS_INDEX_SK: {"S": _priority_created(case.priority, case.created_at)},
        "created_at": {"S": case.created_at},
        "queued_at": {"S": case.queued_at},
        "sla_due_at": {"S": case.sla_due_at},
        "screeners": {"M": {c.value: {"L": [{"S": name} for name in names]} for c, names in case.screeners.items()}},
    }


def _priority_created(priority: int, created_at: str) -> str:
    return f"{priority:02d}#{created_at}"


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
            "screeners": {
                c: [n["S"] for n in names["L"]] for c, names in item.get("screeners", {}).get("M", {}).items()
            },
            "escalated": item.get("escalated", {}).get("BOOL", False),
            **{name: item[name]["S"] for name in _REVIEW_FIELDS if name in item},
        }
    )


def _cursor_keys(index: str) -> set[str]:
    return {CASES_TABLE.partition_key, CASES_INDEXES[index], CASES_STATUS_INDEX_SK}


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

    def claim(self, case: ReviewCase, action: ReviewerAction) -> bool:
        """`open` → `claimed` by the action's reviewer, logged; False when the case was no longer open."""
        update = self._case_update(
            case.case_id,
            "SET #s = :claimed, claimed_by = :me, claimed_at = :at",
            f"attribute_exists(request_id) AND #s = :{CaseStatus.OPEN.value}",
            {":claimed": {"S": CaseStatus.CLAIMED.value}, ":me": {"S": action.reviewer}, ":at": {"S": action.at}},
        )
        return transact_once("case claim", [update, {"Put": action_put(self.table_name, action)}])

    def decide(
        self, case: ReviewCase, action: ReviewerAction, false_positives: Sequence[tuple[Category, str]] = ()
    ) -> bool:
        """Record a final decision (confirm, dismiss), logged, and count the false positives it names; False when
        the case is no longer as read (decided, or claimed by someone else)."""
        update = self._case_update(
            case.case_id,
            "SET #s = :decided, review_decision = :d, decided_by = :me, decided_at = :at, note = :note",
            self._unchanged(case),
            {
                ":decided": {"S": CaseStatus.DECIDED.value},
                ":d": {"S": action.action.value},
                ":me": {"S": action.reviewer},
                ":at": {"S": action.at},
                ":note": {"S": action.reason or ""},
            },
        )
        items = [update, {"Put": action_put(self.table_name, action)}]
        if false_positives:
            names = {
                f"#f{i}": f"{_FALSE_POSITIVE_PREFIX}{c.value}#{screener}"
                for i, (c, screener) in enumerate(false_positives)
            }
            items.append(
                {
                    "Update": {
                        "TableName": self.table_name,
                        "Key": {CASES_TABLE.partition_key: {"S": FALSE_POSITIVES_KEY}},
                        "UpdateExpression": "ADD " + ", ".join(f"{name} :one" for name in names),
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                }
            )
        return transact_once("case decision", items)

    def escalate(self, case: ReviewCase, action: ReviewerAction, priority: int) -> bool:
        """Back to `open`, escalated, at `priority`, with any claim released; logged. False as for `decide`."""
        update = self._case_update(
            case.case_id,
            "SET #s = :open_again, escalated = :yes, priority = :p, #pc = :pc, note = :note "
            "REMOVE claimed_by, claimed_at",
            self._unchanged(case),
            {
                ":open_again": {"S": CaseStatus.OPEN.value},
                ":yes": {"BOOL": True},
                ":p": {"N": str(priority)},
                ":pc": {"S": _priority_created(priority, case.created_at)},
                ":note": {"S": action.reason or ""},
            },
        )
        update["Update"]["ExpressionAttributeNames"]["#pc"] = CASES_STATUS_INDEX_SK
        if case.status is CaseStatus.CLAIMED:
            update["Update"]["ExpressionAttributeValues"][":me"] = {"S": action.reviewer}
        return transact_once("case escalation", [update, {"Put": action_put(self.table_name, action)}])

    @staticmethod
    def _unchanged(case: ReviewCase) -> str:
        """The case is still as read: open, or claimed by the acting reviewer (`:me`)."""
        if case.status is CaseStatus.CLAIMED:
            return f"#s = :{CaseStatus.CLAIMED.value} AND claimed_by = :me"
        return f"#s = :{case.status.value}"

    def _case_update(self, case_id: str, expression: str, condition: str, values: dict[str, Any]) -> dict[str, Any]:
        # Every status the conditions name is bound, so each condition reads as the rule it checks.
        statuses = {f":{status.value}": {"S": status.value} for status in CaseStatus if f":{status.value}" in condition}
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": {CASES_TABLE.partition_key: {"S": case_id}},
                "UpdateExpression": expression,
                "ConditionExpression": condition,
                "ExpressionAttributeNames": {"#s": CASES_STATUS_INDEX_PK},
                "ExpressionAttributeValues": {**values, **statuses},
            }
        }

    def false_positive_counts(self) -> dict[Category, dict[str, int]]:
        """Dismissed cases per category and per screener that decided them (`unknown`: the case did not say)."""
        try:
            item = (
                client("dynamodb")
                .get_item(
                    TableName=self.table_name,
                    Key={CASES_TABLE.partition_key: {"S": FALSE_POSITIVES_KEY}},
                    ConsistentRead=True,
                )
                .get("Item", {})
            )
        except (ClientError, BotoCoreError) as error:
            raise StorageError(f"false-positive read failed: {type(error).__name__}") from error
        counts: dict[Category, dict[str, int]] = {}
        for name, value in item.items():
            if name.startswith(_FALSE_POSITIVE_PREFIX):
                category, screener = name.removeprefix(_FALSE_POSITIVE_PREFIX).split("#", 1)
                counts.setdefault(Category(category), {})[screener] = int(value["N"])
        return counts

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
            start = decode_cursor(index, cursor, _cursor_keys(index))
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
        # Log entries and counters share the table; only a case has a request id.
        return _case(item) if item and "request_id" in item else None


__all__ = ["CASES_STATUS_INDEX_SK", "DynamoCaseStore", "InvalidCursorError"]
