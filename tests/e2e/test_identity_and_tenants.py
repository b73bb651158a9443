"""`warden tenants ... --local` and JWT end users, with the official anthropic SDK against `warden local`.

The stack trusts a token issuer whose JWKS a test server on 127.0.0.1 serves (WARDEN_LOCAL_OIDC_*), and its
authorizer cache is off (WARDEN_AUTHORIZER_CACHE_SECONDS=0) so a disabled or rotated key stops at once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import pytest
from warden import constants as c

from tests.conftest import ROOT
from tests.e2e.conftest import RunningStack, start_stack, stop_stack
from tests.support.tokens import AUDIENCE, Issuer, local_issuer

pytestmark = pytest.mark.e2e

MODEL = "claude-haiku-4-5"
HELLO = [{"role": "user", "content": "What is the capital of France?"}]


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    with local_issuer() as running:
        yield running


@pytest.fixture(scope="module")
def stack(issuer: Issuer) -> Iterator[RunningStack]:
    running = start_stack(
        {
            c.ENV_LOCAL_OIDC_ISSUER: issuer.url,
            c.ENV_LOCAL_OIDC_AUDIENCE: AUDIENCE,
            c.ENV_LOCAL_OIDC_JWKS_URI: issuer.jwks_uri,
            c.ENV_AUTHORIZER_CACHE_SECONDS: "0",
        }
    )
    yield running
    stop_stack(running)


def tenants(stack: RunningStack, *args: str) -> dict[str, Any]:
    """`warden tenants ARGS --local --json` as an operator runs it, against this stack's moto server."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "WARDEN_"))}
    env[c.ENV_LOCAL_AWS_PORT] = stack.aws_url.rsplit(":", 1)[1]
    done = subprocess.run(
        [str(Path(sys.executable).with_name("warden")), "tenants", *args, "--local", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def sdk(stack: RunningStack, api_key: str, **kwargs: Any) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=stack.api_url, api_key=api_key, max_retries=0, **kwargs)


def test_created_key_works_until_the_tenant_is_disabled(stack: RunningStack) -> None:
    created = tenants(stack, "create", "E2E tenant", "--tenant-id", "e2e-disable")
    client = sdk(stack, created["api_key"])

    message = client.messages.create(model=MODEL, max_tokens=100, metadata={"user_id": "alice"}, messages=HELLO)
    assert message.type == "message"

    tenants(stack, "disable", "e2e-disable")

    with pytest.raises(anthropic.PermissionDeniedError):
        client.messages.create(model=MODEL, max_tokens=100, metadata={"user_id": "alice"}, messages=HELLO)


def test_rotated_key_replaces_the_old_one(stack: RunningStack) -> None:
    created = tenants(stack, "create", "E2E rotate", "--tenant-id", "e2e-rotate")
    rotated = tenants(stack, "rotate-key", "e2e-rotate")

    with pytest.raises(anthropic.AuthenticationError):
        sdk(stack, created["api_key"]).messages.create(
            model=MODEL, max_tokens=100, metadata={"user_id": "alice"}, messages=HELLO
        )
    message = sdk(stack, rotated["api_key"]).messages.create(
        model=MODEL, max_tokens=100, metadata={"user_id": "alice"}, messages=HELLO
    )
    assert message.type == "message"


@pytest.fixture(scope="module")
def jwt_key(stack: RunningStack) -> str:
    created = tenants(stack, "create", "E2E mobile", "--tenant-id", "e2e-mobile", "--identity", "jwt")
    key: str = created["api_key"]
    return key


def test_jwt_end_user_is_served_without_metadata(stack: RunningStack, jwt_key: str, issuer: Issuer) -> None:
    client = sdk(stack, jwt_key, default_headers={c.HEADER_USER_TOKEN: issuer.token("alice")})

    message = client.messages.create(model=MODEL, max_tokens=100, messages=HELLO)

    assert message.type == "message"


def test_jwt_tenant_key_alone_is_unauthorized(stack: RunningStack, jwt_key: str) -> None:
    with pytest.raises(anthropic.AuthenticationError) as refused:
        sdk(stack, jwt_key).messages.create(model=MODEL, max_tokens=100, messages=HELLO)

    assert isinstance(refused.value.body, dict)
    assert refused.value.body["error"]["type"] == "authentication_error"


def test_expired_token_is_unauthorized(stack: RunningStack, jwt_key: str, issuer: Issuer) -> None:
    client = sdk(stack, jwt_key, default_headers={c.HEADER_USER_TOKEN: issuer.token("alice", expires_in=-300)})

    with pytest.raises(anthropic.AuthenticationError):
        client.messages.create(model=MODEL, max_tokens=100, messages=HELLO)


def test_metadata_naming_another_user_is_refused(stack: RunningStack, jwt_key: str, issuer: Issuer) -> None:
    client = sdk(stack, jwt_key, default_headers={c.HEADER_USER_TOKEN: issuer.token("alice")})

    with pytest.raises(anthropic.PermissionDeniedError) as refused:
        client.messages.create(model=MODEL, max_tokens=100, metadata={"user_id": "bob"}, messages=HELLO)

    assert isinstance(refused.value.body, dict)
    assert "metadata.user_id does not match" in refused.value.body["error"]["message"]
