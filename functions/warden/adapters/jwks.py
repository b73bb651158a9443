"""Issuers' signing keys over HTTPS: JWKS fetched with PyJWT's `PyJWKClient`, cached per container.

One client per key-set URL: the set is cached for `cache_seconds`, and a token naming an unknown `kid`
(the issuer rotated its keys) forces one refetch, at most once per `refresh_cooldown_seconds`, so forged
key ids cannot turn every request into a fetch. Issuers without a configured `jwks_uri` are looked up
once through their OpenID discovery document.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from urllib.error import URLError

import jwt
from jwt import PyJWKClient, PyJWKClientConnectionError, PyJWKClientError

from warden.config import OidcIssuerConfig, require_tls_url
from warden.domain.user_tokens import InvalidUserTokenError, SigningKeysUnavailableError

DISCOVERY_PATH = "/.well-known/openid-configuration"
FETCH_TIMEOUT_SECONDS = 3.0
MAX_DISCOVERY_BYTES = 256 * 1024


class JwksSigningKeys:
    """`SigningKeys` backed by the issuers' JWKS endpoints."""

    def __init__(
        self, cache_seconds: int, refresh_cooldown_seconds: int, timeout_seconds: float = FETCH_TIMEOUT_SECONDS
    ):
        self.cache_seconds = cache_seconds
        self.refresh_cooldown_seconds = refresh_cooldown_seconds
        self.timeout_seconds = timeout_seconds
        self._clients: dict[str, PyJWKClient] = {}
        self._discovered: dict[str, str] = {}
        self._lock = threading.Lock()

    def signing_key(self, issuer: OidcIssuerConfig, kid: str) -> jwt.PyJWK:
        client = self._client(self._jwks_uri(issuer))
        try:
            return client.get_signing_key(kid)
        except PyJWKClientConnectionError as error:
            raise SigningKeysUnavailableError(f"key set of {issuer.label} unavailable") from error
        except PyJWKClientError as error:
            raise InvalidUserTokenError("unknown signing key") from error

    def _client(self, jwks_uri: str) -> PyJWKClient:
        with self._lock:
            client = self._clients.get(jwks_uri)
            if client is None:
                client = PyJWKClient(
                    jwks_uri,
                    cache_jwk_set=True,
                    lifespan=self.cache_seconds,
                    timeout=self.timeout_seconds,
                    cooldown_duration=self.refresh_cooldown_seconds,
                )
                self._clients[jwks_uri] = client
            return client

    def _jwks_uri(self, issuer: OidcIssuerConfig) -> str:
        if issuer.jwks_uri:
            return issuer.jwks_uri
        with self._lock:
            known = self._discovered.get(issuer.issuer)
        if known:
            return known
        discovered = self._discover(issuer)
        with self._lock:
            self._discovered[issuer.issuer] = discovered
        return discovered

    def _discover(self, issuer: OidcIssuerConfig) -> str:
        url = issuer.issuer.rstrip("/") + DISCOVERY_PATH
        try:
            with urllib.request.urlopen(url, timeout=self.timeout_seconds) as response:  # noqa: S310 - https enforced by config
                document = json.loads(response.read(MAX_DISCOVERY_BYTES))
        except (URLError, TimeoutError, ValueError) as error:
            raise SigningKeysUnavailableError(f"discovery document of {issuer.label} unavailable") from error
        # The document must be the issuer's own (OpenID Connect Discovery 1.0, section 4.3).
        if not isinstance(document, dict) or document.get("issuer") != issuer.issuer:
            raise SigningKeysUnavailableError(f"discovery document of {issuer.label} names another issuer")
        jwks_uri = document.get("jwks_uri")
        try:
            return require_tls_url(str(jwks_uri), "jwks_uri")
        except ValueError as error:
            raise SigningKeysUnavailableError(f"discovery document of {issuer.label} has no usable jwks_uri") from error
