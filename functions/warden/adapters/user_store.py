"""User standing and strikes in DynamoDB.

Items per user hash: the standing item (sk = STATE) and one item per strike (sk = STRIKE#<time>#<request>),
which DynamoDB's TTL removes after the ladder window. A strike is written in one transaction with the
standing item's counter; the ladder then re-evaluates from the strikes themselves and raises the status
with a condition that never lowers it, so concurrent strikes cannot race a user into a lower status.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from warden.adapters.aws import client
from warden.constants import STRIKE_SK_PREFIX, USER_STATE_SK, USERS_TABLE
from warden.domain.strikes import StrikeLadder, effective_status, warning_text
from warden.errors import StorageError
from warden.models import STATUS_RANK, Strike, UserStanding, UserStatus
from warden.taxonomy import Category

_PK = USERS_TABLE.partition_key
_SK = USERS_TABLE.sort_key or "sk"
_TTL = USERS_TABLE.ttl_attribute or "expires_at"


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _strike_from_item(item: dict[str, Any]) -> Strike:
    return Strike(
        request_id=item["request_id"]["S"],
        categories=[Category(value["S"]) for value in item.get("categories", {}).get("L", [])],
        at=item["at"]["S"],
        expires_at=int(item[_TTL]["N"]),
    )


class DynamoUserStore:
    def __init__(self, table_name: str, ladder: StrikeLadder):
        self.table_name = table_name
        self.ladder = ladder

    def _standing(self, user_hash: str, state: dict[str, Any] | None, strikes: list[Strike], now: int) -> UserStanding:
        stored = UserStatus(state["status"]["S"]) if state and "status" in state else UserStatus.ACTIVE
        until = int(state["status_until"]["N"]) if state and "status_until" in state else None
        active = self.ladder.active(strikes, now)
        status = effective_status(stored, until, now)
        return UserStanding(
            user_hash=user_hash,
            status=status,
            active_strikes=len(active),
            strikes=active,
            policy_version_accepted=state["policy_version"]["S"] if state and "policy_version" in state else None,
            warning=warning_text(status, len(active), self.ladder.config.suspend_at),
        )

    def _state_item(self, user_hash: str) -> dict[str, Any] | None:
        response = client("dynamodb").get_item(
            TableName=self.table_name,
            Key={_PK: {"S": user_hash}, _SK: {"S": USER_STATE_SK}},
            ConsistentRead=True,
        )
        item: dict[str, Any] | None = response.get("Item")
        return item

    def _strikes(self, user_hash: str, now: int) -> list[Strike]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": f"{_PK} = :u AND begins_with({_SK}, :p)",
            "FilterExpression": f"{_TTL} > :now",
            "ExpressionAttributeValues": {
                ":u": {"S": user_hash},
                ":p": {"S": STRIKE_SK_PREFIX},
                ":now": {"N": str(now)},
            },
            "ConsistentRead": True,
        }
        while True:
            response = client("dynamodb").query(**kwargs)
            items.extend(response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                break
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return [_strike_from_item(item) for item in items]

    def get_standing(self, user_hash: str, now: datetime) -> UserStanding:
        """One consistent GetItem on the hot path; the strike list itself is not read here."""
        epoch = _epoch(now)
        try:
            state = self._state_item(user_hash)
        except (ClientError, BotoCoreError) as error:
            raise StorageError(f"users table read failed: {type(error).__name__}") from error
        standing = self._standing(user_hash, state, [], epoch)
        count = int(state["active_strikes"]["N"]) if state and "active_strikes" in state else 0
        if standing.status is UserStatus.ACTIVE and state and "status_until" in state:
            count = 0  # the counter is as of the last strike; a lapsed warning means its strikes expired
        return standing.model_copy(
            update={
                "active_strikes": count,
                "warning": warning_text(standing.status, count, self.ladder.config.suspend_at),
            }
        )

    def get_standing_detail(self, user_hash: str, now: datetime) -> UserStanding:
        """Standing with the active strikes listed (for `GET /v1/users/{id}`)."""
        epoch = _epoch(now)
        try:
            state = self._state_item(user_hash)
            strikes = self._strikes(user_hash, epoch)
        except (ClientError, BotoCoreError) as error:
            raise StorageError(f"users table read failed: {type(error).__name__}") from error
        return self._standing(user_hash, state, strikes, epoch)

    def add_strike(
        self, user_hash: str, tenant_id: str, request_id: str, categories: Sequence[Category], now: datetime
    ) -> UserStanding:
        epoch = _epoch(now)
        at = now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        expires = epoch + self.ladder.window_seconds
        dynamodb = client("dynamodb")
        try:
            dynamodb.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.table_name,
                            "Item": {
                                _PK: {"S": user_hash},
                                # Request ids are ULIDs: strikes sort by time, and one request is one strike.
                                _SK: {"S": f"{STRIKE_SK_PREFIX}{request_id}"},
                                "request_id": {"S": request_id},
                                "tenant_id": {"S": tenant_id},
                                "categories": {"L": [{"S": c.value} for c in categories]},
                                "at": {"S": at},
                                _TTL: {"N": str(expires)},
                            },
                            # One strike per request, however often the write is retried.
                            "ConditionExpression": f"attribute_not_exists({_SK})",
                        }
                    },
                    {
                        "Update": {
                            "TableName": self.table_name,
                            "Key": {_PK: {"S": user_hash}, _SK: {"S": USER_STATE_SK}},
                            "UpdateExpression": "ADD strikes_total :one SET tenant_id = :t, last_strike_at = :at",
                            "ExpressionAttributeValues": {":one": {"N": "1"}, ":t": {"S": tenant_id}, ":at": {"S": at}},
                        }
                    },
                ]
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise StorageError(f"strike write failed: {error.response['Error'].get('Code')}") from error
            reasons = error.response.get("CancellationReasons") or []
            if not any(reason.get("Code") == "ConditionalCheckFailed" for reason in reasons):
                raise StorageError("strike write was cancelled") from error
            # This request's strike already exists (a retry): fall through and re-evaluate.
        except BotoCoreError as error:
            raise StorageError(f"strike write failed: {type(error).__name__}") from error
        return self._escalate(user_hash, epoch)

    def _escalate(self, user_hash: str, epoch: int) -> UserStanding:
        try:
            strikes = self._strikes(user_hash, epoch)
            step = self.ladder.evaluate(strikes, epoch)
            values: dict[str, Any] = {
                ":s": {"S": step.status.value},
                ":r": {"N": str(STATUS_RANK[step.status])},
                ":n": {"N": str(len(strikes))},
            }
            update = "SET #status = :s, status_rank = :r, active_strikes = :n"
            if step.until is not None:
                update += ", status_until = :until"
                values[":until"] = {"N": str(step.until)}
            else:
                update += " REMOVE status_until"
            try:
                client("dynamodb").update_item(
                    TableName=self.table_name,
                    Key={_PK: {"S": user_hash}, _SK: {"S": USER_STATE_SK}},
                    UpdateExpression=update,
                    # Never lower a status here: a concurrent evaluation that saw fewer strikes loses.
                    ConditionExpression="attribute_not_exists(status_rank) OR status_rank <= :r",
                    ExpressionAttributeNames={"#status": "status"},
                    ExpressionAttributeValues=values,
                )
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise
            state = self._state_item(user_hash)
        except (ClientError, BotoCoreError) as error:
            raise StorageError(f"strike evaluation failed: {type(error).__name__}") from error
        return self._standing(user_hash, state, strikes, epoch)
