"""Enforcement against moto: the user store's throttle bucket, dismissals and policy acceptance, and the gateway
handler's 429, acceptance gate and `POST /v1/users/{user_id}/policy-acceptance`."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from warden import constants as c
from warden.config import StrikeLadderConfig, ThrottleConfig, WardenConfig
from warden.domain.strikes import StrikeLadder
from warden.errors import NotFoundError
from warden.ids import new_request_id
from warden.models import Tenant, UserStatus
from warden.taxonomy import Category

from tests.conftest import load_event
from tests.integration.conftest import TENANT_ID, AwsStack, unique_user
from tests.integration.helpers import LADDER, NOW, messages_event
from tests.integration.test_gateway import (  # the gateway module's fixtures, shared
    Inspector,
    gateway,
    inspect,
    moderator_allows,
    runtime_config,
    standing_event,
)


@pytest.fixture
def users(aws: AwsStack, environment: Callable[..., None]) -> Any:
    from warden.adapters.user_store import DynamoUserStore

    return DynamoUserStore(aws.resources.users_table, StrikeLadder(LADDER))


def _strike(users: Any, user_hash: str, at: datetime, category: Category = Category.FRAUD_ABUSE) -> Any:
    return users.add_strike(user_hash, TENANT_ID, new_request_id(), [category], at)


def _item(aws: AwsStack, user_hash: str, sort_key: str) -> dict[str, Any]:
    key = {c.USERS_TABLE.partition_key: {"S": user_hash}, c.USERS_TABLE.sort_key or "sk": {"S": sort_key}}
    item: dict[str, Any] = aws.client("dynamodb").get_item(
        TableName=aws.resources.users_table, Key=key, ConsistentRead=True
    )["Item"]
    return item


# ---------------------------------------------------------------------------------------------- the store


def test_third_strike_throttles_and_the_throttle_lapses_into_a_warning(users: Any) -> None:
    user_hash = unique_user()
    for minutes in (0, 1, 2):
        standing = _strike(users, user_hash, NOW + timedelta(minutes=minutes))
    assert standing.status is UserStatus.THROTTLED

    assert users.get_standing(user_hash, NOW + timedelta(hours=23)).status is UserStatus.THROTTLED
    later = users.get_standing(user_hash, NOW + timedelta(hours=25))
    assert later.status is UserStatus.WARNED
    assert later.warning and "rate-limited" not in later.warning


def test_concurrent_requests_of_a_throttled_user_take_exactly_the_burst(aws: AwsStack, users: Any) -> None:
    # Given a throttled user (5 requests per minute) with a full bucket
    user_hash = unique_user()
    for minutes in (0, 1, 2):
        _strike(users, user_hash, NOW + timedelta(minutes=minutes))
    moment = NOW + timedelta(minutes=3)
    standing = users.get_standing(user_hash, moment)

    # When sixteen requests read that same standing and ask for a token at the same instant
    with ThreadPoolExecutor(16) as pool:
        decisions = list(pool.map(lambda _: users.take_token(user_hash, standing, LADDER.throttle, moment), range(16)))

    # Then exactly five are admitted, and the rest are told to come back in 12 s
    assert sum(decision.allowed for decision in decisions) == 5
    assert {decision.retry_after for decision in decisions if not decision.allowed} == {12}
    assert float(_item(aws, user_hash, c.USER_STATE_SK)["bucket_tokens"]["N"]) == 0.0


def test_dismissing_a_strike_lowers_the_status_at_once(aws: AwsStack, users: Any) -> None:
    # Given a user suspended by five strikes
    user_hash = unique_user()
    request_ids = []
    for minutes in range(5):
        request_ids.append(new_request_id())
        standing = users.add_strike(
            user_hash, TENANT_ID, request_ids[-1], [Category.FRAUD_ABUSE], NOW + timedelta(minutes=minutes)
        )
    assert standing.status is UserStatus.SUSPENDED

    # When a reviewer dismisses one of them
    after = users.dismiss_strike(
        user_hash, request_ids[2], "reviewer-7", "quoted a news article", NOW + timedelta(hours=1)
    )

    # Then four count: throttled, the dismissed strike is not listed, and the dismissal is kept with the strike
    assert after.status is UserStatus.THROTTLED
    assert after.active_strikes == 4
    assert request_ids[2] not in {strike.request_id for strike in after.strikes}
    dismissed = _item(aws, user_hash, f"{c.STRIKE_SK_PREFIX}{request_ids[2]}")
    assert (dismissed["dismissed_by"]["S"], dismissed["dismissal_reason"]["S"]) == (
        "reviewer-7",
        "quoted a news article",
    )
    assert users.get_standing(user_hash, NOW + timedelta(hours=1)).status is UserStatus.THROTTLED


def test_dismissing_the_same_strike_twice_changes_nothing_more(users: Any) -> None:
    user_hash, request_id = unique_user(), new_request_id()
    users.add_strike(user_hash, TENANT_ID, request_id, [Category.FRAUD_ABUSE], NOW)
    _strike(users, user_hash, NOW + timedelta(minutes=1))

    first = users.dismiss_strike(user_hash, request_id, "r1", "wrong", NOW + timedelta(minutes=2))
    second = users.dismiss_strike(user_hash, request_id, "r2", "wrong again", NOW + timedelta(minutes=3))

    assert first.active_strikes == second.active_strikes == 1


def test_dismissing_a_strike_the_user_does_not_have_is_not_found(users: Any) -> None:
    with pytest.raises(NotFoundError):
        users.dismiss_strike(unique_user(), new_request_id(), "r1", "no such strike", NOW)


def test_dismissing_a_child_safety_strike_lifts_the_immediate_suspension(users: Any) -> None:
    user_hash, request_id = unique_user(), new_request_id()
    suspended = users.add_strike(user_hash, TENANT_ID, request_id, [Category.CHILD_SAFETY], NOW)
    assert suspended.status is UserStatus.SUSPENDED

    after = users.dismiss_strike(user_hash, request_id, "r1", "a safeguarding question", NOW + timedelta(minutes=5))

    assert after.status is UserStatus.ACTIVE
    assert users.get_standing(user_hash, NOW + timedelta(minutes=5)).status is UserStatus.ACTIVE


def test_a_dismissal_re_evaluates_with_the_ladder_the_user_was_judged_by(users: Any) -> None:
    # Given a tenant whose own ladder suspends at two strikes
    tenant_ladder = StrikeLadder(StrikeLadderConfig(warn_at=1, throttle_at=None, suspend_at=2))
    user_hash, first = unique_user(), new_request_id()
    users.add_strike(user_hash, TENANT_ID, first, [Category.FRAUD_ABUSE], NOW, tenant_ladder)
    for minutes in (1, 2):
        standing = users.add_strike(
            user_hash,
            TENANT_ID,
            new_request_id(),
            [Category.FRAUD_ABUSE],
            NOW + timedelta(minutes=minutes),
            tenant_ladder,
        )
    assert standing.status is UserStatus.SUSPENDED

    # When one of three is dismissed, two remain: still suspended under the tenant's ladder (not the deployment's)
    assert (
        users.dismiss_strike(user_hash, first, "r1", "fine", NOW + timedelta(minutes=3)).status is UserStatus.SUSPENDED
    )


def test_policy_acceptance_is_idempotent_and_keeps_the_first_time(aws: AwsStack, users: Any) -> None:
    user_hash = unique_user()

    users.record_policy_acceptance(user_hash, "2025-09-15", NOW)
    users.record_policy_acceptance(user_hash, "2025-09-15", NOW + timedelta(days=1))

    state = _item(aws, user_hash, c.USER_STATE_SK)
    assert state["policy_version"]["S"] == "2025-09-15"
    assert state["policy_accepted_at"]["S"].startswith("2026-03-01T12:00")
    assert users.get_standing(user_hash, NOW).policy_version_accepted == "2025-09-15"


# ---------------------------------------------------------------------------------------------- the handler


def tenant_event(event: dict[str, Any], **settings: Any) -> dict[str, Any]:
    """The event as the authorizer would pass it for a tenant with these per-tenant settings."""
    tenant = Tenant(tenant_id=TENANT_ID, name=TENANT_ID, **settings)
    event["requestContext"]["authorizer"][c.AUTH_CONTEXT_SETTINGS] = json.dumps(tenant.settings())
    return event


def acceptance_event(user_id: str, body: Any) -> dict[str, Any]:
    event = load_event("gateway", "policy_acceptance")
    encoded = urllib.parse.quote(user_id, safe="")
    event["path"] = f"/v1/users/{encoded}/policy-acceptance"
    event["requestContext"]["path"] = f"/prod/v1/users/{encoded}/policy-acceptance"
    event["pathParameters"] = {"user_id": encoded}
    event["body"] = json.dumps(body)
    return event


def test_acceptance_gate_from_refusal_to_acceptance_to_service(
    gateway: Any, warden_config: WardenConfig, inspect: Inspector, moderator_allows: Any
) -> None:
    # Given a tenant that requires its users to accept the usage policy, and a user who has not
    version = warden_config.usage_policy.version
    user_id = f"team/{unique_user()}"
    requiring = {"require_policy_acceptance": True}

    # When the user's app sends a request, records an old version, then the current one, and sends again
    refused = gateway(tenant_event(messages_event("messages_allowed", user_id), **requiring))
    wrong = gateway(tenant_event(acceptance_event(user_id, {"version": "2019-01-01"}), **requiring))
    accepted = gateway(tenant_event(acceptance_event(user_id, {"version": version}), **requiring))
    again = gateway(tenant_event(acceptance_event(user_id, {"version": version}), **requiring))
    served = gateway(tenant_event(messages_event("messages_allowed", user_id), **requiring))

    # Then: refused with the version to accept, the old version named wrong, acceptance recorded once, then served
    assert (refused.status, refused.body["error"]["type"]) == (403, "permission_error")
    assert refused.warden["policy"]["required_version"] == version
    assert version in refused.body["error"]["message"]
    assert (wrong.status, wrong.body["error"]["type"]) == (400, "invalid_request_error")
    assert version in wrong.body["error"]["message"]
    assert accepted.status == again.status == 200
    assert accepted.body["user_hash"] == inspect.user_hash(user_id)
    assert accepted.body["policy"] == {
        "current_version": version,
        "url": warden_config.usage_policy.url,
        "accepted_version": version,
        "acceptance_required": True,
        "accepted": True,
    }
    assert served.status == 200
    assert user_id not in json.dumps(inspect.user_items(inspect.user_hash(user_id)))


def test_throttled_user_over_the_rate_gets_429_with_retry_after(
    gateway: Any, environment: Callable[..., None], warden_config: WardenConfig, moderator_allows: Any
) -> None:
    # Given a ladder that throttles at the first strike to one request an hour
    ladder = StrikeLadderConfig(
        warn_at=1, throttle_at=1, suspend_at=50, throttle=ThrottleConfig(requests=1, per_seconds=3600)
    )
    environment(**{c.ENV_CONFIG: runtime_config(warden_config, strike_ladder=ladder)})
    user_id = unique_user()
    assert gateway(messages_event("messages_violating", user_id)).warden["user_status"] == "throttled"

    # When the user sends two ordinary requests
    first = gateway(messages_event("messages_allowed", user_id))
    second = gateway(messages_event("messages_allowed", user_id))

    # Then the first takes the hour's token, the second is refused with when to retry
    assert first.status == 200
    assert "rate-limited" in first.headers[c.HEADER_WARNING]
    assert (second.status, second.body["error"]["type"]) == (429, "rate_limit_error")
    assert 3590 <= int(second.headers["retry-after"]) <= 3600
    assert second.warden["throttle"]["requests"] == 1
    assert second.warden["user_status"] == "throttled"
    standing = gateway(standing_event(user_id))
    assert standing.body["status"] == "throttled"
    assert standing.body["throttle"]["requests"] == 1
    assert standing.body["throttle"]["until"] > datetime.now(UTC).timestamp()


__all__ = ["gateway", "inspect", "moderator_allows"]
