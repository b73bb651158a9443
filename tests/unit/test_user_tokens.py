"""End-user token verification (JWT tenants): signature, expiry, not-before, issuer, audience, algorithm."""

from __future__ import annotations

import time

import jwt
import pytest
from warden.config import OidcIssuerConfig
from warden.domain.user_tokens import InvalidUserTokenError, UserTokenVerifier, trusted_issuers

from tests.support.tokens import AUDIENCE, Issuer, SigningKey, hs256_with_public_key, unsigned_token

ISSUER_URL = "https://id.example.com"
OTHER_URL = "https://other-id.example.com"


class FakeKeys:
    """`SigningKeys` from an in-memory key set (the JWKS adapter is tested against a real HTTP server)."""

    def __init__(self, *issuers: Issuer):
        self.issuers = {issuer.url: issuer for issuer in issuers}

    def signing_key(self, issuer: OidcIssuerConfig, kid: str) -> jwt.PyJWK:
        for jwk in self.issuers[issuer.issuer].jwks()["keys"]:
            if jwk["kid"] == kid:
                return jwt.PyJWK(jwk)
        raise InvalidUserTokenError("unknown signing key")


@pytest.fixture(scope="module")
def issuer() -> Issuer:
    return Issuer(url=ISSUER_URL, jwks_uri=f"{ISSUER_URL}/jwks.json", keys=[SigningKey.rsa(), SigningKey.ec()])


@pytest.fixture(scope="module")
def other() -> Issuer:
    return Issuer(url=OTHER_URL, jwks_uri=f"{OTHER_URL}/jwks.json", keys=[SigningKey.rsa()])


@pytest.fixture(scope="module")
def verifier(issuer: Issuer, other: Issuer) -> UserTokenVerifier:
    configs = [
        OidcIssuerConfig(issuer=ISSUER_URL, audience=(AUDIENCE,), jwks_uri=issuer.jwks_uri, name="main"),
        OidcIssuerConfig(issuer=OTHER_URL, audience=(AUDIENCE,), jwks_uri=other.jwks_uri),
    ]
    return UserTokenVerifier(configs, FakeKeys(issuer, other), leeway_seconds=5)


def reason_for(verifier: UserTokenVerifier, token: str, trusted: list[str] | None = None) -> str:
    with pytest.raises(InvalidUserTokenError) as rejected:
        verifier.verify(token, trusted)
    return rejected.value.reason


@pytest.mark.parametrize("key_index", [0, 1], ids=["RS256", "ES256"])
def test_valid_token_yields_its_subject(verifier: UserTokenVerifier, issuer: Issuer, key_index: int) -> None:
    user = verifier.verify(issuer.token("alice", key=issuer.keys[key_index]))

    assert user.subject == "alice"
    assert user.issuer == ISSUER_URL


def test_tampered_payload_fails_the_signature(verifier: UserTokenVerifier, issuer: Issuer) -> None:
    # Given a valid token whose claims are swapped for another user's, keeping the signature
    header, _, signature = issuer.token("alice").split(".")
    _, forged_payload, _ = issuer.token("mallory", key=SigningKey.rsa()).split(".")

    assert reason_for(verifier, f"{header}.{forged_payload}.{signature}") == "InvalidSignatureError"


def test_token_signed_by_a_stranger_with_a_known_kid_fails(verifier: UserTokenVerifier, issuer: Issuer) -> None:
    impostor = SigningKey(issuer.keys[0].kid, "RS256", SigningKey.rsa().private_key)

    assert reason_for(verifier, issuer.token(key=impostor)) == "InvalidSignatureError"


def test_expired_token_is_rejected(verifier: UserTokenVerifier, issuer: Issuer) -> None:
    assert reason_for(verifier, issuer.token(expires_in=-60)) == "ExpiredSignatureError"


def test_expiry_within_the_leeway_is_tolerated(verifier: UserTokenVerifier, issuer: Issuer) -> None:
    assert verifier.verify(issuer.token(expires_in=-2)).subject == "user-123"


def test_not_yet_valid_token_is_rejected(verifier: UserTokenVerifier, issuer: Issuer) -> None:
    assert reason_for(verifier, issuer.token(not_before_in=120)) == "ImmatureSignatureError"


def test_wrong_audience_is_rejected(verifier: UserTokenVerifier, issuer: Issuer) -> None:
    assert reason_for(verifier, issuer.token(audience="some-other-app")) == "InvalidAudienceError"


def test_unknown_issuer_is_rejected(verifier: UserTokenVerifier, issuer: Issuer) -> None:
    assert reason_for(verifier, issuer.token(issuer="https://evil.example.com")) == "issuer not trusted for this tenant"


def test_tenant_narrowing_excludes_other_deployment_issuers(verifier: UserTokenVerifier, other: Issuer) -> None:
    token = other.token()

    assert verifier.verify(token).subject == "user-123"
    assert reason_for(verifier, token, trusted=["main"]) == "issuer not trusted for this tenant"


def test_tenant_may_name_an_issuer_by_label_or_url(verifier: UserTokenVerifier, issuer: Issuer) -> None:
    assert verifier.verify(issuer.token(), trusted=["main"]).issuer == ISSUER_URL
    assert verifier.verify(issuer.token(), trusted=[ISSUER_URL]).issuer == ISSUER_URL


def test_alg_none_is_rejected(verifier: UserTokenVerifier, issuer: Issuer) -> None:
    now = int(time.time())
    token = unsigned_token({"iss": ISSUER_URL, "aud": AUDIENCE, "sub": "mallory", "exp": now + 300}, issuer.keys[0].kid)

    assert reason_for(verifier, token) == "algorithm 'none' not accepted"


def test_hs256_keyed_with_the_public_key_is_rejected(verifier: UserTokenVerifier, issuer: Issuer) -> None:
    assert reason_for(verifier, hs256_with_public_key(issuer)) == "algorithm 'HS256' not accepted"


def test_header_algorithm_must_match_the_key(verifier: UserTokenVerifier, issuer: Issuer) -> None:
    # An ES256 header pointing at the RSA key's id: the key decides the algorithm, not the token.
    ec_key = issuer.keys[1]
    mislabelled = SigningKey(issuer.keys[0].kid, "ES256", ec_key.private_key)

    assert reason_for(verifier, issuer.token(key=mislabelled)) == "InvalidAlgorithmError"


def test_unknown_kid_is_rejected(verifier: UserTokenVerifier, issuer: Issuer) -> None:
    assert reason_for(verifier, issuer.token(key=SigningKey.rsa())) == "unknown signing key"


@pytest.mark.parametrize("claims", [{"sub": ""}, {"sub": "x" * 257}, {"sub": 42}], ids=["empty", "long", "number"])
def test_unusable_subject_is_rejected(verifier: UserTokenVerifier, issuer: Issuer, claims: dict[str, object]) -> None:
    assert reason_for(verifier, issuer.token(claims=claims)) in {"token has no usable subject", "InvalidSubjectError"}


@pytest.mark.parametrize("token", ["", "not-a-jwt", "a.b.c", "x" * 9000])
def test_garbage_is_rejected_without_an_exception_leak(verifier: UserTokenVerifier, token: str) -> None:
    assert reason_for(verifier, token) in {"malformed token", "token too long"}


def test_trusted_issuers_none_means_all() -> None:
    configs = [
        OidcIssuerConfig(issuer=ISSUER_URL, audience=("a",)),
        OidcIssuerConfig(issuer=OTHER_URL, audience=("a",)),
    ]

    assert trusted_issuers(configs, None) == configs
    assert trusted_issuers(configs, [OTHER_URL]) == configs[1:]
    assert trusted_issuers(configs, ["nobody"]) == []
