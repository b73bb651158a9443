"""JWT tenants through the real authorizer and gateway handlers: moto for AWS, a JWKS server on 127.0.0.1.

The authorizer verifies the end user's token (x-api-key + Authorization: Bearer, or the warden-user-token
header) and hands the verified `sub` to the gateway in its context; the gateway uses it as the user id.
"""

from __future__ import annotations

import json
import secrets
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from warden import constants as c
from warden.adapters.tenant_store import DynamoTenantStore
from warden.config import IdentityMode, IdentityRuntime, OidcIssuerConfig
from warden.domain.identity import hash_api_key, hash_user_id
from warden.models import Tenant

from tests.conftest import load_event
from tests.fakes.anthropic_server import FakeAnthropic
from tests.integration.conftest import AwsStack
from tests.integration.helpers import messages_event, response_headers
from tests.integration.test_authorizer import authorizer_event, effects_for
from tests.support.tokens import AUDIENCE, Issuer, SigningKey, hs256_with_public_key, local_issuer, unsigned_token


@dataclass(frozen=True)
class JwtTenant:
    tenant_id: str
    api_key: str


def _register(aws: AwsStack, **fields: Any) -> JwtTenant:
    api_key = "wk_" + secrets.token_urlsafe(24)
    tenant = Tenant(tenant_id="mobile-" + secrets.token_hex(4), name="Mobile app", **fields)
    DynamoTenantStore(aws.resources.tenants_table).put(
        hash_api_key(api_key), tenant, datetime.now(UTC).isoformat(timespec="seconds")
    )
    return JwtTenant(tenant.tenant_id, api_key)


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    with local_issuer(SigningKey.rsa(), SigningKey.ec()) as running:
        yield running


@pytest.fixture(scope="module")
def jwt_tenant(aws: AwsStack) -> JwtTenant:
    return _register(aws, identity=IdentityMode.JWT)


@pytest.fixture
def identity_env(environment: Callable[..., None], issuer: Issuer) -> Callable[..., None]:
    """A new authorizer container trusting the local issuer (no refresh cooldown, so rotation is seen at once)."""

    def apply(*issuers: OidcIssuerConfig) -> None:
        configs = issuers or (OidcIssuerConfig.model_validate(issuer.issuer_config(name="local")),)
        runtime = IdentityRuntime(issuers=configs, jwks_refresh_cooldown_seconds=0)
        environment(**{c.ENV_IDENTITY: runtime.model_dump_json()})

    apply()
    return apply


@pytest.fixture
def authorize(
    aws: AwsStack, identity_env: Callable[..., None], lambda_context: Callable[[str], Any]
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    from authorizer import handler

    def invoke(event: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = handler.lambda_handler(event, lambda_context("warden-authorizer"))
        return result

    return invoke


def with_token(api_key: str, token: str | None, *, header: str = "authorization") -> dict[str, Any]:
    event = authorizer_event("x_api_key", api_key)
    if token is not None:
        value = f"Bearer {token}" if header == "authorization" else token
        event["headers"][header] = value
        event["multiValueHeaders"][header] = [value]
    return event


def refused(authorize: Callable[[dict[str, Any]], dict[str, Any]], event: dict[str, Any]) -> None:
    # API Gateway turns exactly this message into its 401 (Anthropic-shaped gateway response).
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize(event)


# ---------------------------------------------------------------------------------------------- authorizer


@pytest.mark.parametrize("header", ["authorization", c.HEADER_USER_TOKEN])
def test_valid_token_is_allowed_with_its_subject_in_the_context(
    authorize: Callable[[dict[str, Any]], dict[str, Any]], jwt_tenant: JwtTenant, issuer: Issuer, header: str
) -> None:
    event = with_token(jwt_tenant.api_key, issuer.token("alice"), header=header)

    response = authorize(event)

    assert effects_for(response["policyDocument"], event["methodArn"]) == {"Allow"}
    assert response["context"][c.AUTH_CONTEXT_END_USER] == "alice"
    assert response["context"][c.AUTH_CONTEXT_TENANT_ID] == jwt_tenant.tenant_id


def test_es256_token_is_allowed(
    authorize: Callable[[dict[str, Any]], dict[str, Any]], jwt_tenant: JwtTenant, issuer: Issuer
) -> None:
    response = authorize(with_token(jwt_tenant.api_key, issuer.token("bob", key=issuer.keys[1])))

    assert response["context"][c.AUTH_CONTEXT_END_USER] == "bob"


def test_jwt_tenant_without_a_token_is_unauthorized(
    authorize: Callable[[dict[str, Any]], dict[str, Any]], jwt_tenant: JwtTenant
) -> None:
    refused(authorize, with_token(jwt_tenant.api_key, None))


def _tampered(issuer: Issuer) -> str:
    header, _, signature = issuer.token("alice").split(".")
    _, payload, _ = issuer.token("mallory").split(".")
    return f"{header}.{payload}.{signature}"


def _alg_none(issuer: Issuer) -> str:
    now = int(time.time())
    return unsigned_token({"iss": issuer.url, "aud": AUDIENCE, "sub": "mallory", "exp": now + 300}, issuer.keys[0].kid)


BAD_TOKENS: dict[str, Callable[[Issuer], str]] = {
    "tampered": _tampered,
    "expired": lambda issuer: issuer.token(expires_in=-120),
    "not-yet-valid": lambda issuer: issuer.token(not_before_in=600),
    "wrong-audience": lambda issuer: issuer.token(audience="another-app"),
    "wrong-issuer": lambda issuer: issuer.token(issuer="https://evil.example.com"),
    "alg-none": _alg_none,
    "hs256-public-key": hs256_with_public_key,
    "unknown-kid": lambda issuer: issuer.token(key=SigningKey.rsa()),
    "garbage": lambda _: "not.a.jwt",
}


@pytest.mark.parametrize("case", sorted(BAD_TOKENS))
def test_bad_token_is_unauthorized(
    authorize: Callable[[dict[str, Any]], dict[str, Any]], jwt_tenant: JwtTenant, issuer: Issuer, case: str
) -> None:
    refused(authorize, with_token(jwt_tenant.api_key, BAD_TOKENS[case](issuer)))


def test_rotated_issuer_key_is_fetched_on_its_first_use(
    authorize: Callable[[dict[str, Any]], dict[str, Any]], jwt_tenant: JwtTenant, issuer: Issuer
) -> None:
    # Given an authorizer that has cached the issuer's key set
    authorize(with_token(jwt_tenant.api_key, issuer.token("alice")))
    fetched = issuer.fetches

    # When the issuer adds a new key and signs with it
    rotated = SigningKey.rsa()
    issuer.keys.append(rotated)
    try:
        response = authorize(with_token(jwt_tenant.api_key, issuer.token("alice", key=rotated)))
    finally:
        issuer.keys.remove(rotated)

    # Then the unknown kid forced one refetch, and the token verified
    assert response["context"][c.AUTH_CONTEXT_END_USER] == "alice"
    assert issuer.fetches == fetched + 1


def test_key_set_is_cached_between_requests(
    authorize: Callable[[dict[str, Any]], dict[str, Any]], jwt_tenant: JwtTenant, issuer: Issuer
) -> None:
    authorize(with_token(jwt_tenant.api_key, issuer.token("alice")))
    fetched = issuer.fetches

    for _ in range(3):
        authorize(with_token(jwt_tenant.api_key, issuer.token("alice")))

    assert issuer.fetches == fetched


def test_issuer_found_by_discovery_when_no_jwks_uri_is_configured(
    authorize: Callable[[dict[str, Any]], dict[str, Any]],
    identity_env: Callable[..., None],
    jwt_tenant: JwtTenant,
    issuer: Issuer,
) -> None:
    identity_env(OidcIssuerConfig(issuer=issuer.url, audience=(AUDIENCE,)))

    response = authorize(with_token(jwt_tenant.api_key, issuer.token("carol")))

    assert response["context"][c.AUTH_CONTEXT_END_USER] == "carol"


def test_tenant_narrowed_to_another_issuer_refuses_this_one(
    aws: AwsStack, authorize: Callable[[dict[str, Any]], dict[str, Any]], issuer: Issuer
) -> None:
    narrowed = _register(aws, identity=IdentityMode.JWT, trusted_issuers=("some-other-issuer",))

    refused(authorize, with_token(narrowed.api_key, issuer.token("alice")))


def test_tokens_never_reach_the_logs(
    authorize: Callable[[dict[str, Any]], dict[str, Any]],
    jwt_tenant: JwtTenant,
    issuer: Issuer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    token = issuer.token(expires_in=-120)
    refused(authorize, with_token(jwt_tenant.api_key, token))

    logged = capsys.readouterr()
    assert token.split(".")[2] not in logged.out + logged.err
    assert jwt_tenant.api_key not in logged.out + logged.err


def test_trusted_backend_tenant_still_authenticates_with_a_bearer_key(
    aws: AwsStack, authorize: Callable[[dict[str, Any]], dict[str, Any]]
) -> None:
    response = authorize(authorizer_event("bearer", aws.tenant_key))

    assert c.AUTH_CONTEXT_END_USER not in response["context"]


# ---------------------------------------------------------------------------------------------- gateway


@pytest.fixture
def gateway(
    aws: AwsStack, identity_env: Callable[..., None], lambda_context: Callable[[str], Any], fake_claude: FakeAnthropic
) -> Callable[[dict[str, Any]], tuple[int, dict[str, Any]]]:
    from gateway.handler import lambda_handler

    fake_claude.tool_responder = lambda _: {"violations": []}  # the moderator finds nothing

    def invoke(event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        result = lambda_handler(event, lambda_context("warden-gateway"))
        assert c.HEADER_REQUEST_ID in response_headers(result)
        return int(result["statusCode"]), json.loads(result["body"])

    return invoke


def as_gateway_event(event: dict[str, Any], authorizer_response: dict[str, Any]) -> dict[str, Any]:
    """What API Gateway passes the gateway after this authorizer answer."""
    event["requestContext"]["authorizer"] = {
        **authorizer_response["context"],
        "principalId": authorizer_response["principalId"],
    }
    return event


def messages_for(metadata_user: str | None) -> dict[str, Any]:
    event = messages_event("messages_allowed")
    body = json.loads(event["body"])
    if metadata_user is None:
        body.pop("metadata", None)
    else:
        body["metadata"] = {"user_id": metadata_user}
    event["body"] = json.dumps(body)
    return event


def user_hash_key(aws: AwsStack) -> bytes:
    secret = aws.client("secretsmanager").get_secret_value(SecretId=aws.resources.user_hash_secret_arn)
    return str(secret["SecretString"]).encode()


def test_verified_subject_is_the_user_and_metadata_may_be_omitted(
    aws: AwsStack,
    authorize: Callable[[dict[str, Any]], dict[str, Any]],
    gateway: Callable[[dict[str, Any]], tuple[int, dict[str, Any]]],
    jwt_tenant: JwtTenant,
    issuer: Issuer,
    fake_claude: FakeAnthropic,
) -> None:
    subject = "sub-" + secrets.token_hex(4)
    allowed = authorize(with_token(jwt_tenant.api_key, issuer.token(subject)))

    status, _ = gateway(as_gateway_event(messages_for(None), allowed))

    assert status == 200
    forwarded = [r.body for r in fake_claude.requests if isinstance(r.body, dict) and not r.body.get("tools")]
    expected = hash_user_id(user_hash_key(aws), jwt_tenant.tenant_id, subject)
    assert forwarded[-1]["metadata"] == {"user_id": expected}
    assert subject not in json.dumps(forwarded[-1])


@pytest.mark.parametrize(("claimed", "status"), [("alice", 200), ("bob", 403)], ids=["agrees", "someone-else"])
def test_metadata_user_id_must_agree_with_the_token(
    authorize: Callable[[dict[str, Any]], dict[str, Any]],
    gateway: Callable[[dict[str, Any]], tuple[int, dict[str, Any]]],
    jwt_tenant: JwtTenant,
    issuer: Issuer,
    claimed: str,
    status: int,
) -> None:
    allowed = authorize(with_token(jwt_tenant.api_key, issuer.token("alice")))

    answered, body = gateway(as_gateway_event(messages_for(claimed), allowed))

    assert answered == status
    if status == 403:
        assert body["error"]["type"] == "permission_error"
        assert "metadata.user_id does not match" in body["error"]["message"]


def standing_event(user_id: str) -> dict[str, Any]:
    event = load_event("gateway", "user_standing")
    encoded = urllib.parse.quote(user_id, safe="")
    event["path"] = f"/v1/users/{encoded}"
    event["pathParameters"] = {"user_id": encoded}
    return event


def test_end_user_reads_only_their_own_standing(
    authorize: Callable[[dict[str, Any]], dict[str, Any]],
    gateway: Callable[[dict[str, Any]], tuple[int, dict[str, Any]]],
    jwt_tenant: JwtTenant,
    issuer: Issuer,
) -> None:
    allowed = authorize(with_token(jwt_tenant.api_key, issuer.token("alice")))

    own_status, own = gateway(as_gateway_event(standing_event("alice"), allowed))
    other_status, other = gateway(as_gateway_event(standing_event("bob"), allowed))

    assert own_status == 200 and own["status"] == "active"
    assert other_status == 403 and other["error"]["type"] == "permission_error"
