"""Screening profiles end to end: tenant record → authorizer context → gateway, against moto and a fake Claude.

The profiles are cdk.json's own: `shadow-trial` (shadow mode) and `strict` (output screening on).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any

import pytest
from warden import constants as c
from warden.config import WardenConfig
from warden.domain.identity import hash_user_id
from warden_local.resources import create_tenant

from tests.fakes.anthropic_server import FakeAnthropic, last_user_text
from tests.integration.conftest import AwsStack, unique_user
from tests.integration.helpers import messages_event, response_headers
from tests.integration.test_authorizer import authorizer_event
from tests.integration.test_gateway import GatewayReply, Inspector

HARMFUL_ANSWER = "Sure. To build a pipe bomb, pack the pipe with explosive powder and add a fuse."

Gateway = Callable[[str, dict[str, Any]], GatewayReply]


def inspect_hash(inspect: Inspector, tenant_id: str, user_id: str) -> str:
    return hash_user_id(inspect.user_hash_key, tenant_id, user_id)


@pytest.fixture(scope="module")
def inspect(aws: AwsStack) -> Inspector:
    return Inspector(aws)


@pytest.fixture(scope="module")
def tenant_keys(aws: AwsStack, warden_config: WardenConfig) -> dict[str, str]:
    """One tenant per profile under test; the profile must be configured, as for any tenant."""
    keys = {}
    for profile in ("shadow-trial", "strict"):
        key = "wk_" + secrets.token_urlsafe(24)
        tenant_id = f"profile-{profile}"
        create_tenant(aws.resources, tenant_id, key, profile=warden_config.screening.require_profile(profile))
        keys[profile] = key
    return keys


@pytest.fixture
def gateway(
    aws: AwsStack,
    environment: Callable[..., None],
    lambda_context: Callable[[str], Any],
    inspect: Inspector,
    tenant_keys: dict[str, str],
) -> Gateway:
    """Authorize with the profile's tenant key, then invoke the gateway with the authorizer's context."""
    from authorizer import handler as authorizer
    from gateway.handler import lambda_handler

    authorizer.resolver.cache_clear()
    inspect.drain(aws.resources.review_queue_url)

    def invoke(profile: str, event: dict[str, Any]) -> GatewayReply:
        decision = authorizer.lambda_handler(
            authorizer_event("x_api_key", tenant_keys[profile]), lambda_context("warden-authorizer")
        )
        event["requestContext"]["authorizer"] = {**decision["context"], "principalId": decision["principalId"]}
        result = lambda_handler(event, lambda_context("warden-gateway"))
        return GatewayReply(
            status=int(result["statusCode"]), headers=response_headers(result), body=json.loads(result["body"])
        )

    return invoke


def test_the_authorizer_passes_the_tenants_profile_in_its_context(
    lambda_context: Callable[[str], Any], environment: Callable[..., None], tenant_keys: dict[str, str]
) -> None:
    from authorizer import handler as authorizer

    authorizer.resolver.cache_clear()
    response = authorizer.lambda_handler(
        authorizer_event("x_api_key", tenant_keys["shadow-trial"]), lambda_context("warden-authorizer")
    )

    assert response["context"][c.AUTH_CONTEXT_PROFILE] == "shadow-trial"


# ---------------------------------------------------------------------------------------------- shadow mode


@pytest.fixture
def moderator_allows(fake_claude: FakeAnthropic) -> FakeAnthropic:
    fake_claude.tool_responder = lambda _: {"violations": []}
    return fake_claude


def test_shadow_profile_serves_a_violating_prompt_and_records_the_would_be_block(
    gateway: Gateway, inspect: Inspector, moderator_allows: FakeAnthropic
) -> None:
    # Given a tenant on the shadow profile and a prompt the default profile blocks
    user_id = unique_user()

    # When it is sent
    reply = gateway("shadow-trial", messages_event("messages_violating", user_id=user_id))

    # Then it is served, with no strike, and the record says what would have happened
    assert reply.status == 200
    assert reply.body["type"] == "message"
    assert inspect.strikes(inspect_hash(inspect, "profile-shadow-trial", user_id)) == []
    record = inspect.audit_record(reply.headers[c.HEADER_REQUEST_ID])
    assert record["screening"]["profile"] == "shadow-trial"
    assert record["screening"]["shadow"] is True
    assert record["screening"]["decision"] == "blocked"
    assert "weapons_illegal_goods" in record["screening"]["blocked_categories"]
    assert record["decision"] == "flagged"
    [item] = inspect.review_items()
    assert (item["decision"], item["source"]) == ("flagged", "input")


# ---------------------------------------------------------------------------------------------- output screening


@pytest.fixture
def claude_answers_harmfully(fake_claude: FakeAnthropic) -> FakeAnthropic:
    """Claude's completion is harmful; the moderator finds a violation only in that answer."""

    def verdict(body: dict[str, Any]) -> dict[str, Any]:
        if "pipe bomb" in last_user_text(body):
            return {"violations": [{"category": "weapons_illegal_goods", "confidence": 0.97}]}
        return {"violations": []}

    fake_claude.text_responder = lambda _: HARMFUL_ANSWER
    fake_claude.tool_responder = verdict
    return fake_claude


def test_strict_profile_withholds_a_harmful_answer_with_403_source_output(
    gateway: Gateway, inspect: Inspector, claude_answers_harmfully: FakeAnthropic
) -> None:
    user_id = unique_user()

    reply = gateway("strict", messages_event("messages_allowed", user_id=user_id))

    assert reply.status == 403
    assert reply.body["error"]["type"] == "permission_error"
    assert reply.body["warden"]["decision"] == "blocked"
    assert reply.body["warden"]["source"] == "output"
    assert "weapons_illegal_goods" in reply.body["warden"]["categories"]
    assert HARMFUL_ANSWER not in json.dumps(reply.body)


def test_a_withheld_answer_adds_a_strike_and_is_recorded_with_the_completion(
    gateway: Gateway, inspect: Inspector, claude_answers_harmfully: FakeAnthropic
) -> None:
    user_id = unique_user()

    reply = gateway("strict", messages_event("messages_allowed", user_id=user_id))

    [strike] = inspect.strikes(inspect_hash(inspect, "profile-strict", user_id))
    assert strike["request_id"]["S"] == reply.headers[c.HEADER_REQUEST_ID]
    record = inspect.audit_record(reply.headers[c.HEADER_REQUEST_ID])
    assert record["decision"] == "blocked"
    assert record["screening"]["decision"] == "allowed"
    assert record["output_screening"]["decision"] == "blocked"
    assert record["completion"]["content"] == [{"type": "text", "text": HARMFUL_ANSWER}]
    [item] = inspect.review_items()
    assert (item["decision"], item["source"]) == ("blocked", "output")
