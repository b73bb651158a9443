"""User standing, strikes, the throttle's token bucket and policy acceptance in DynamoDB.

Items per user hash: the standing item (sk = STATE) and one item per strike (sk = STRIKE#<request id>),
which DynamoDB's TTL removes after the ladder window.

Every change to a user's strikes (a new strike, a dismissal) is written in one transaction with an ADD to
the standing item's `version`. The ladder then re-evaluates from the strikes themselves and writes the status
tagged with the version it read first, on the condition that no evaluation of a later version has been
written. An evaluation that read version v saw at least the first v changes, so the last one standing has seen
them all: concurrent strikes cannot race a user into a lower status, and a dismissal can lower it safely.

A reviewer's manual suspension is its own attributes on the standing item (`manual_suspended_at`, `_by`,
`_reason`): the ladder never writes them, so no re-evaluation or dismissal lifts it; only a reinstatement does.
Reviewer actions on a user are written in one transaction with their reviewer action log entry.

The throttle's token bucket lives on the standing item too, so the read the gateway makes anyway returns it;
only a throttled user's request writes it, with a condition on its sequence number (optimistic locking).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from warden.adapters.aws import client, transact_once
from warden.adapters.cursors import decode_cursor, encode_cursor
from warden.adapters.reviewer_log import action_put
from warden.config import StrikeLadderConfig, ThrottleConfig
from warden.constants import (
    STRIKE_SK_PREFIX,
    USER_STATE_SK,
    USERS_TABLE,
    USERS_VIOLATIONS_INDEX,
    USERS_VIOLATIONS_INDEX_PK,
    USERS_VIOLATIONS_INDEX_PK_VALUE,
    USERS_VIOLATIONS_INDEX_SK,
)
from warden.domain.strikes import StrikeLadder, effective_status, warning_text
from warden.domain.throttle import RateDecision, take_token
from warden.errors import NotFoundError, StorageError
from warden.models import (
    STATUS_RANK,
    RateBucket,
    ReviewerAction,
    Strike,
    UserActivity,
    UserActivityPage,
    UserStanding,
    UserStatus,
)
from warden.taxonomy import Category

_PK = USERS_TABLE.partition_key
_SK = USERS_TABLE.sort_key or "sk"
_TTL = USERS_TABLE.ttl_attribute or "expires_at"
# Conditional bucket writes that lose to a concurrent request of the same user retry with the state they lost to.
BUCKET_WRITE_ATTEMPTS = 8
_CONDITION_FAILED = "ConditionalCheckFailedException"
MANUAL_SUSPENSION = ("manual_suspended_at", "manual_suspended_by", "manual_suspension_reason")
# DynamoDB allows 100 items per transaction: the log entry and the standing item leave room for this many strikes.
STRIKES_PER_TRANSACTION = 98
# Clearing strikes re-reads and retries when a strike is dismissed or expires between its read and its write.
CLEARING_ATTEMPTS = 3
MAX_PAGE_SIZE = 100
_VIOLATIONS_CURSOR_KEYS = {_PK, _SK, USERS_VIOLATIONS_INDEX_PK, USERS_VIOLATIONS_INDEX_SK}


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _number(item: dict[str, Any] | None, name: str) -> int | None:
    return int(item[name]["N"]) if item and name in item else None


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _strike_from_item(item: dict[str, Any]) -> Strike:
    return Strike(
        request_id=item["request_id"]["S"],
        categories=[Category(value["S"]) for value in item.get("categories", {}).get("L", [])],
        at=item["at"]["S"],
        expires_at=int(item[_TTL]["N"]),
        dismissed="dismissed_at" in item,
    )


def _bucket_from_item(item: dict[str, Any] | None) -> RateBucket | None:
    if not item or "bucket_seq" not in item:
        return None
    return RateBucket(
        tokens=float(item["bucket_tokens"]["N"]),
        at_ms=int(item["bucket_at"]["N"]),
        sequence=int(item["bucket_seq"]["N"]),
    )


class DynamoUserStore:
    def __init__(self, table_name: str, ladder: StrikeLadder, actions_table: str | None = None):
        self.table_name = table_name
        # The deployment's ladder; a tenant's own ladder is passed per call.
        self.ladder = ladder
        # Where reviewer actions on users are logged (the review cases table); only reviewer code sets it.
        self.actions_table = actions_table

    def _key(self, user_hash: str, sort_key: str = USER_STATE_SK) -> dict[str, Any]:
        return {_PK: {"S": user_hash}, _SK: {"S": sort_key}}

    def _standing(
        self, user_hash: str, state: dict[str, Any] | None, strikes: list[Strike], now: int, ladder: StrikeLadder
    ) -> UserStanding:
        stored = UserStatus(state["status"]["S"]) if state and "status" in state else UserStatus.ACTIVE
        until, warned_until = _number(state, "status_until"), _number(state, "warned_until")
        manual = bool(state and MANUAL_SUSPENSION[0] in state)
        if manual:
            stored, until, warned_until = UserStatus.SUSPENDED, None, None
        active = ladder.active(strikes, now)
        status = effective_status(stored, until, now, warned_until)
        return UserStanding(
            user_hash=user_hash,
            status=status,
            active_strikes=len(active),
            strikes=active,
            policy_version_accepted=state["policy_version"]["S"] if state and "policy_version" in state else None,
            warning=warning_text(status, len(active), ladder.config.suspend_at),
            # A status in force ends at its own `until`; a throttle that lapsed into a warning ends with the warning.
            status_until=until if status is stored else (warned_until if status is UserStatus.WARNED else None),
            warned_until=warned_until if status is not UserStatus.ACTIVE else None,
            rate_bucket=_bucket_from_item(state),
            suspended_by_reviewer=manual,
        )

    def _state_item(self, user_hash: str) -> dict[str, Any] | None:
        response = client("dynamodb").get_item(TableName=self.table_name, Key=self._key(user_hash), ConsistentRead=True)
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

    def get_standing(self, user_hash: str, now: datetime, ladder: StrikeLadder | None = None) -> UserStanding:
        """One consistent GetItem; the strike list itself is not read here."""
        try:
            state = self._state_item(user_hash)
        except (ClientError, BotoCoreError) as error:
            raise StorageError(f"users table read failed: {type(error).__name__}") from error
        return self._summary(user_hash, state, _epoch(now), ladder or self.ladder)

    def activity(self, user_hash: str, now: datetime) -> tuple[UserActivity, UserStanding]:
        """The user's listing row (counts, status, last activity) and standing with its strikes, from one read of
        each."""
        epoch = _epoch(now)
        try:
            state = self._state_item(user_hash)
            strikes = self._strikes(user_hash, epoch)
        except (ClientError, BotoCoreError) as error:
            raise StorageError(f"users table read failed: {type(error).__name__}") from error
        standing = self._standing(user_hash, state, strikes, epoch, self._stored_ladder(state))
        return self._activity(user_hash, state, epoch), standing

    def list_by_violations(self, now: datetime, limit: int = 50, cursor: str | None = None) -> UserActivityPage:
        """Users who ever had a strike, most violations (strikes not dismissed) first."""
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}")
        query: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": USERS_VIOLATIONS_INDEX,
            "KeyConditionExpression": "#k = :k",
            "ExpressionAttributeNames": {"#k": USERS_VIOLATIONS_INDEX_PK},
            "ExpressionAttributeValues": {":k": {"S": USERS_VIOLATIONS_INDEX_PK_VALUE}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if cursor is not None:
            query["ExclusiveStartKey"] = decode_cursor(USERS_VIOLATIONS_INDEX, cursor, _VIOLATIONS_CURSOR_KEYS)
        try:
            response = client("dynamodb").query(**query)
        except (ClientError, BotoCoreError) as error:
            raise StorageError(f"users query failed: {type(error).__name__}") from error
        last_key = response.get("LastEvaluatedKey")
        epoch = _epoch(now)
        return UserActivityPage(
            users=[self._activity(item[_PK]["S"], item, epoch) for item in response.get("Items", [])],
            cursor=encode_cursor(USERS_VIOLATIONS_INDEX, last_key) if last_key else None,
        )

    def _activity(self, user_hash: str, state: dict[str, Any] | None, epoch: int) -> UserActivity:
        standing = self._summary(user_hash, state, epoch, self._stored_ladder(state))
        violations = max(_number(state, USERS_VIOLATIONS_INDEX_SK) or 0, 0)
        requests = _number(state, "requests_total") or 0
        return UserActivity(
            user_hash=user_hash,
            tenant_id=(state or {}).get("tenant_id", {}).get("S"),
            status=standing.status,
            suspended_by_reviewer=standing.suspended_by_reviewer,
            violations=violations,
            requests=requests,
            violation_rate=round(violations / requests, 4) if requests else None,
            active_strikes=standing.active_strikes,
            last_request_at=(state or {}).get("last_request_at", {}).get("S"),
            last_strike_at=(state or {}).get("last_strike_at", {}).get("S"),
        )

    def record_request(
        self, user_hash: str, tenant_id: str, now: datetime, ladder: StrikeLadder | None = None
    ) -> UserStanding:
        """The gateway's one call per request: count it (reviewers' violation rate, last activity) and return the
        standing, in one UpdateItem that returns the item (no separate read)."""
        try:
            state = client("dynamodb").update_item(
                TableName=self.table_name,
                Key=self._key(user_hash),
                UpdateExpression="ADD requests_total :one SET last_request_at = :at, tenant_id = :t",
                ExpressionAttributeValues={":one": {"N": "1"}, ":at": {"S": _iso(now)}, ":t": {"S": tenant_id}},
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except (ClientError, BotoCoreError) as error:
            raise StorageError(f"users table write failed: {type(error).__name__}") from error
        return self._summary(user_hash, state, _epoch(now), ladder or self.ladder)

    def _summary(self, user_hash: str, state: dict[str, Any] | None, epoch: int, ladder: StrikeLadder) -> UserStanding:
        standing = self._standing(user_hash, state, [], epoch, ladder)
        count = _number(state, "active_strikes") or 0
        if standing.status is UserStatus.ACTIVE and state and "status_until" in state:
            count = 0  # the counter is as of the last evaluation; a lapsed warning means its strikes expired
        return standing.model_copy(
            update={"active_strikes": count, "warning": warning_text(standing.status, count, ladder.config.suspend_at)}
        )

    def get_standing_detail(self, user_hash: str, now: datetime, ladder: StrikeLadder | None = None) -> UserStanding:
        """Standing with the active strikes listed; `ladder` None: the one the user was last evaluated with."""
        epoch = _epoch(now)
        try:
            state = self._state_item(user_hash)
            strikes = self._strikes(user_hash, epoch)
        except (ClientError, BotoCoreError) as error:
            raise StorageError(f"users table read failed: {type(error).__name__}") from error
        return self._standing(user_hash, state, strikes, epoch, ladder or self._stored_ladder(state))

    def add_strike(
        self,
        user_hash: str,
        tenant_id: str,
        request_id: str,
        categories: Sequence[Category],
        now: datetime,
        ladder: StrikeLadder | None = None,
    ) -> UserStanding:
        ladder = ladder or self.ladder
        epoch, at = _epoch(now), _iso(now)
        strike_put = {
            "Put": {
                "TableName": self.table_name,
                "Item": {
                    **self._key(user_hash, f"{STRIKE_SK_PREFIX}{request_id}"),
                    # Request ids are ULIDs: strikes sort by time, and one request is one strike.
                    "request_id": {"S": request_id},
                    "tenant_id": {"S": tenant_id},
                    "categories": {"L": [{"S": c.value} for c in categories]},
                    "at": {"S": at},
                    _TTL: {"N": str(epoch + ladder.window_seconds)},
                },
                # One strike per request, however often the write is retried.
                "ConditionExpression": f"attribute_not_exists({_SK})",
            }
        }
        counters = {
            "Update": {
                "TableName": self.table_name,
                "Key": self._key(user_hash),
                "UpdateExpression": "ADD strikes_total :one, version :one, violations :one "
                "SET tenant_id = :t, last_strike_at = :at, violator = :violator",
                "ExpressionAttributeValues": {
                    ":one": {"N": "1"},
                    ":t": {"S": tenant_id},
                    ":at": {"S": at},
                    ":violator": {"S": USERS_VIOLATIONS_INDEX_PK_VALUE},
                },
            }
        }
        # A cancelled transaction means this request's strike already exists (a retry): just re-evaluate.
        transact_once("strike write", [strike_put, counters])
        return self._evaluate(user_hash, epoch, ladder)

    def dismiss_strike(
        self, user_hash: str, request_id: str, reviewer: str, reason: str, now: datetime
    ) -> UserStanding:
        """A reviewer overturned the block behind a strike: it stops counting and the status is recomputed at once
        (the one way a status goes down before it lapses). Dismissing twice is harmless."""
        strike_key = self._key(user_hash, f"{STRIKE_SK_PREFIX}{request_id}")
        dismissal = {
            "Update": {
                "TableName": self.table_name,
                "Key": strike_key,
                "UpdateExpression": "SET dismissed_at = :at, dismissed_by = :by, dismissal_reason = :why",
                "ConditionExpression": f"attribute_exists({_SK}) AND attribute_not_exists(dismissed_at)",
                "ExpressionAttributeValues": {":at": {"S": _iso(now)}, ":by": {"S": reviewer}, ":why": {"S": reason}},
            }
        }
        counters = {
            "Update": {
                "TableName": self.table_name,
                "Key": self._key(user_hash),
                # The strike stops counting as a violation: exactly once, by the dismissal's condition.
                "UpdateExpression": "ADD version :one, violations :minus",
                "ExpressionAttributeValues": {":one": {"N": "1"}, ":minus": {"N": "-1"}},
            }
        }
        if not transact_once("strike dismissal", [dismissal, counters]):
            try:
                exists = "Item" in client("dynamodb").get_item(
                    TableName=self.table_name, Key=strike_key, ConsistentRead=True, ProjectionExpression=_SK
                )
            except (ClientError, BotoCoreError) as error:
                raise StorageError(f"strike read failed: {type(error).__name__}") from error
            if not exists:
                raise NotFoundError(f"no strike for request {request_id} of this user (it may have expired)")
        return self._evaluate(user_hash, _epoch(now), self._last_ladder(user_hash))

    def _last_ladder(self, user_hash: str) -> StrikeLadder:
        """The ladder the user was last evaluated with (the tenant's own, if it has one)."""
        try:
            state = self._state_item(user_hash)
        except (ClientError, BotoCoreError) as error:
            raise StorageError(f"users table read failed: {type(error).__name__}") from error
        return self._stored_ladder(state)

    def _stored_ladder(self, state: dict[str, Any] | None) -> StrikeLadder:
        if state and "ladder" in state:
            return StrikeLadder(StrikeLadderConfig.model_validate_json(state["ladder"]["S"]))
        return self.ladder

    def _action_put(self, action: ReviewerAction) -> dict[str, Any]:
        if self.actions_table is None:
            raise RuntimeError("this user store was built without the reviewer action log (actions_table)")
        return {"Put": action_put(self.actions_table, action)}

    def suspend(self, user_hash: str, action: ReviewerAction, now: datetime) -> UserStanding:
        """A reviewer's suspension: in force from the next request until a reinstatement lifts it."""
        suspension = {
            "Update": {
                "TableName": self.table_name,
                "Key": self._key(user_hash),
                "UpdateExpression": "SET manual_suspended_at = :at, manual_suspended_by = :by, "
                "manual_suspension_reason = :why",
                "ExpressionAttributeValues": {
                    ":at": {"S": action.at},
                    ":by": {"S": action.reviewer},
                    ":why": {"S": action.reason or ""},
                },
            }
        }
        if not transact_once("suspension", [self._action_put(action), suspension]):
            raise StorageError("suspension not written: its log entry already exists")
        return self.get_standing_detail(user_hash, now, self._last_ladder(user_hash))

    def clear_strikes(
        self, user_hash: str, action: ReviewerAction, now: datetime, lift_suspension: bool
    ) -> UserStanding:
        """Dismiss every active strike (and, reinstating, lift a manual suspension), then re-evaluate at once.

        A strike given after the read is a new violation and stands.
        """
        epoch = _epoch(now)
        logged = False
        for _ in range(CLEARING_ATTEMPTS):
            try:
                pending = [strike for strike in self._strikes(user_hash, epoch) if not strike.dismissed]
            except (ClientError, BotoCoreError) as error:
                raise StorageError(f"users table read failed: {type(error).__name__}") from error
            batches = [
                pending[i : i + STRIKES_PER_TRANSACTION] for i in range(0, len(pending), STRIKES_PER_TRANSACTION)
            ]
            for batch in batches or ([] if logged else [[]]):
                lift = " REMOVE " + ", ".join(MANUAL_SUSPENSION) if lift_suspension and not logged else ""
                standing_update = {
                    "Update": {
                        "TableName": self.table_name,
                        "Key": self._key(user_hash),
                        "UpdateExpression": "ADD version :one, violations :minus" + lift,
                        "ExpressionAttributeValues": {":one": {"N": "1"}, ":minus": {"N": str(-len(batch))}},
                    }
                }
                items = ([] if logged else [self._action_put(action)]) + [standing_update]
                items += [self._clearing(user_hash, strike.request_id, action) for strike in batch]
                if not transact_once("strike clearing", items):
                    break  # a strike was dismissed or expired meanwhile: read again
                logged = True
            else:
                return self._evaluate(user_hash, epoch, self._last_ladder(user_hash))
        raise StorageError("strike clearing not written: the strikes kept changing meanwhile")

    def _clearing(self, user_hash: str, request_id: str, action: ReviewerAction) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self.table_name,
                "Key": self._key(user_hash, f"{STRIKE_SK_PREFIX}{request_id}"),
                # Not dismissed meanwhile: each dismissal takes a strike off the violations count exactly once.
                "UpdateExpression": "SET dismissed_at = :at, dismissed_by = :by, dismissal_reason = :why",
                "ConditionExpression": f"attribute_exists({_SK}) AND attribute_not_exists(dismissed_at)",
                "ExpressionAttributeValues": {
                    ":at": {"S": action.at},
                    ":by": {"S": action.reviewer},
                    ":why": {"S": f"{action.action.value}: {action.reason or ''}"},
                },
            }
        }

    def _evaluate(self, user_hash: str, epoch: int, ladder: StrikeLadder) -> UserStanding:
        try:
            version = _number(self._state_item(user_hash), "version") or 0
            strikes = self._strikes(user_hash, epoch)
            step = ladder.evaluate(strikes, epoch)
            values: dict[str, Any] = {
                ":s": {"S": step.status.value},
                ":r": {"N": str(STATUS_RANK[step.status])},
                ":n": {"N": str(len(ladder.active(strikes, epoch)))},
                ":v": {"N": str(version)},
                ":ladder": {"S": ladder.config.model_dump_json()},
            }
            sets = [
                "#status = :s",
                "status_rank = :r",
                "active_strikes = :n",
                "evaluated_version = :v",
                "ladder = :ladder",
            ]
            removes = []
            for name, value in (("status_until", step.until), ("warned_until", step.warned_until)):
                if value is None:
                    removes.append(name)
                else:
                    sets.append(f"{name} = :{name}")
                    values[f":{name}"] = {"N": str(value)}
            try:
                state = client("dynamodb").update_item(
                    TableName=self.table_name,
                    Key=self._key(user_hash),
                    UpdateExpression="SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else ""),
                    # An evaluation that read an older version loses to one that read a newer one.
                    ConditionExpression="attribute_not_exists(evaluated_version) OR evaluated_version <= :v",
                    ExpressionAttributeNames={"#status": "status"},
                    ExpressionAttributeValues=values,
                    ReturnValues="ALL_NEW",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )["Attributes"]
            except ClientError as error:
                if _error_code(error) != _CONDITION_FAILED:
                    raise
                state = error.response.get("Item") or self._state_item(user_hash)
        except (ClientError, BotoCoreError) as error:
            raise StorageError(f"strike evaluation failed: {type(error).__name__}") from error
        return self._standing(user_hash, state, strikes, epoch, ladder)

    def take_token(
        self, user_hash: str, standing: UserStanding, throttle: ThrottleConfig, now: datetime
    ) -> RateDecision:
        """Admit one request of a throttled user if their bucket has a token (one conditional UpdateItem)."""
        now_ms = int(now.timestamp() * 1000)
        bucket = standing.rate_bucket
        for _ in range(BUCKET_WRITE_ATTEMPTS):
            decision = take_token(bucket, throttle, now_ms, standing.status_until)
            if not decision.allowed:
                return decision
            taken = decision.bucket
            values = {
                ":t": {"N": repr(taken.tokens)},
                ":at": {"N": str(taken.at_ms)},
                ":seq": {"N": str(taken.sequence)},
            }
            if bucket is None:
                condition = "attribute_not_exists(bucket_seq)"
            else:
                condition = "bucket_seq = :old"
                values[":old"] = {"N": str(bucket.sequence)}
            try:
                client("dynamodb").update_item(
                    TableName=self.table_name,
                    Key=self._key(user_hash),
                    UpdateExpression="SET bucket_tokens = :t, bucket_at = :at, bucket_seq = :seq",
                    ConditionExpression=condition,
                    ExpressionAttributeValues=values,
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
                return decision
            except ClientError as error:
                if _error_code(error) != _CONDITION_FAILED:
                    raise StorageError(f"rate limit write failed: {_error_code(error)}") from error
                try:
                    current: dict[str, Any] | None = error.response.get("Item")  # type: ignore[assignment]
                    bucket = _bucket_from_item(current or self._state_item(user_hash))
                except (ClientError, BotoCoreError) as read_error:
                    raise StorageError(f"rate limit read failed: {type(read_error).__name__}") from read_error
            except BotoCoreError as error:
                raise StorageError(f"rate limit write failed: {type(error).__name__}") from error
        # Lost every race to the same user's other requests: they took the tokens, so this one waits.
        return RateDecision(False, bucket or decision.bucket, 1)

    def record_policy_acceptance(self, user_hash: str, version: str, now: datetime) -> None:
        """Record that the user accepted `version`; accepting the same version again keeps the first time."""
        try:
            client("dynamodb").update_item(
                TableName=self.table_name,
                Key=self._key(user_hash),
                UpdateExpression="SET policy_version = :v, policy_accepted_at = :at",
                ConditionExpression="attribute_not_exists(policy_version) OR policy_version <> :v",
                ExpressionAttributeValues={":v": {"S": version}, ":at": {"S": _iso(now)}},
            )
        except ClientError as error:
            if _error_code(error) != _CONDITION_FAILED:
                raise StorageError(f"policy acceptance write failed: {_error_code(error)}") from error
        except BotoCoreError as error:
            raise StorageError(f"policy acceptance write failed: {type(error).__name__}") from error
