"""Per-tenant redaction travels tenant record → authorizer → gateway, and every stored record is counted."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from warden import constants as c
from warden.adapters.tenant_store import DynamoTenantStore
from warden.config import PiiKind
from warden.domain.identity import hash_api_key
from warden.models import Tenant

from tests.fakes.anthropic_server import FakeAnthropic
from tests.integration.conftest import AwsStack, unique_user
from tests.integration.helpers import messages_event, response_headers
from tests.integration.test_authorizer import authorizer_event
from tests.integration.test_gateway import Inspector

TENANT_ID = "redacting"
PROMPT = "My email is jane.doe@example.com and my card is 4111 1111 1111 1111. Plan a trip to Lisbon."


@pytest.fixture(scope="module")
def tenant_key(aws: AwsStack) -> str:
    key = "wk_" + secrets.token_urlsafe(24)
    tenant = Tenant(tenant_id=TENANT_ID, name=TENANT_ID, redaction=(PiiKind.EMAIL, PiiKind.CARD))
    DynamoTenantStore(aws.resources.tenants_table).put(hash_api_key(key), tenant, datetime.now(UTC).isoformat())
    return key


@pytest.fixture
def invoke(
    aws: AwsStack,
    environment: Callable[..., None],
    lambda_context: Callable[[str], Any],
    tenant_key: str,
    fake_claude: FakeAnthropic,
) -> Callable[[dict[str, Any]], tuple[int, dict[str, str]]]:
    """Authorize with the redacting tenant's key, then invoke the gateway; the moderator finds nothing."""
    from authorizer import handler as authorizer
    from gateway.handler import lambda_handler

    authorizer.resolver.cache_clear()
    fake_claude.tool_responder = lambda _: {"violations": []}

    def call(event: dict[str, Any]) -> tuple[int, dict[str, str]]:
        decision = authorizer.lambda_handler(authorizer_event("x_api_key", tenant_key), lambda_context("authorizer"))
        event["requestContext"]["authorizer"] = {**decision["context"], "principalId": decision["principalId"]}
        result = lambda_handler(event, lambda_context("warden-gateway"))
        return int(result["statusCode"]), response_headers(result)

    return call


def test_tenant_redaction_applies_to_the_stored_record_not_to_claude(
    aws: AwsStack, invoke: Callable[[dict[str, Any]], tuple[int, dict[str, str]]], fake_claude: FakeAnthropic
) -> None:
    # Given a tenant that redacts emails and card numbers
    # When a prompt with both is served
    status, headers = invoke(messages_event("messages_allowed", user_id=unique_user(), text=PROMPT))

    # Then Claude saw the prompt as sent, and the record keeps it redacted, with a note
    assert status == 200
    assert any("jane.doe@example.com" in json.dumps(request.body) for request in fake_claude.requests)
    record = Inspector(aws).audit_record(headers[c.HEADER_REQUEST_ID])
    stored = json.dumps(record["messages"])
    assert "jane.doe@example.com" not in stored and "4111" not in stored
    assert "[redacted:email]" in stored and "[redacted:card]" in stored
    # The fake Claude echoes the start of the prompt, so its answer holds the email too.
    assert "jane.doe" not in json.dumps(record["completion"]["content"])
    assert "redacted: card 1, email 2" in record["notes"]


def test_every_stored_record_is_counted_by_decision(
    invoke: Callable[[dict[str, Any]], tuple[int, dict[str, str]]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    user_id = unique_user()

    assert invoke(messages_event("messages_allowed", user_id=user_id))[0] == 200
    served = capsys.readouterr().out
    assert invoke(messages_event("messages_violating", user_id=user_id))[0] == 403
    blocked = capsys.readouterr().out

    assert f'"{c.METRIC_REQUESTS_RECORDED}"' in served and f'"{c.METRIC_REQUESTS_BLOCKED}"' not in served
    assert f'"{c.METRIC_REQUESTS_RECORDED}"' in blocked and f'"{c.METRIC_REQUESTS_BLOCKED}"' in blocked
