"""Locally signed end-user tokens and a JWKS served on 127.0.0.1, for the identity tests of every suite.

Keys are generated per test run with `cryptography`; the JWKS server answers only on the loopback
interface, counts its fetches, and stops with its context manager (its thread is a daemon).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

AUDIENCE = "warden-test-app"


@dataclass
class SigningKey:
    kid: str
    algorithm: str
    private_key: Any

    @classmethod
    def rsa(cls) -> SigningKey:
        return cls(
            "rsa-" + secrets.token_hex(4), "RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048)
        )

    @classmethod
    def ec(cls) -> SigningKey:
        return cls("ec-" + secrets.token_hex(4), "ES256", ec.generate_private_key(ec.SECP256R1()))

    def public_jwk(self) -> dict[str, Any]:
        algorithm = RSAAlgorithm if self.algorithm.startswith("RS") else ECAlgorithm
        jwk: dict[str, Any] = json.loads(algorithm.to_jwk(self.private_key.public_key()))
        return {**jwk, "kid": self.kid, "alg": self.algorithm, "use": "sig"}


@dataclass
class Issuer:
    """An OIDC issuer of the tests: its keys, a JWKS endpoint on 127.0.0.1, and a token factory."""

    url: str
    jwks_uri: str
    keys: list[SigningKey] = field(default_factory=list)
    fetches: int = 0

    def jwks(self) -> dict[str, Any]:
        return {"keys": [key.public_jwk() for key in self.keys]}

    def token(
        self,
        subject: str = "user-123",
        *,
        key: SigningKey | None = None,
        audience: str = AUDIENCE,
        issuer: str | None = None,
        expires_in: int = 300,
        not_before_in: int | None = None,
        extra_headers: dict[str, Any] | None = None,
        claims: dict[str, Any] | None = None,
    ) -> str:
        signing = key or self.keys[0]
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": issuer or self.url,
            "aud": audience,
            "sub": subject,
            "iat": now,
            "exp": now + expires_in,
            **(claims or {}),
        }
        if not_before_in is not None:
            payload["nbf"] = now + not_before_in
        headers = {"kid": signing.kid, **(extra_headers or {})}
        return jwt.encode(payload, signing.private_key, algorithm=signing.algorithm, headers=headers)

    def issuer_config(self, **overrides: Any) -> dict[str, Any]:
        """This issuer as a `warden.identity.oidc[]` entry."""
        return {"issuer": self.url, "audience": [AUDIENCE], "jwks_uri": self.jwks_uri, **overrides}


@contextmanager
def local_issuer(*keys: SigningKey) -> Iterator[Issuer]:
    """An issuer whose JWKS (and discovery document) is served on 127.0.0.1 until the block ends."""
    holder: dict[str, Issuer] = {}

    class _Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            issuer = holder["issuer"]
            if self.path == "/jwks.json":
                issuer.fetches += 1
                document = issuer.jwks()
            elif self.path == "/.well-known/openid-configuration":
                document = {"issuer": issuer.url, "jwks_uri": issuer.jwks_uri}
            else:
                self.send_error(404)
                return
            body = json.dumps(document).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    base = f"http://127.0.0.1:{server.server_address[1]}"
    holder["issuer"] = Issuer(url=base, jwks_uri=f"{base}/jwks.json", keys=list(keys) or [SigningKey.rsa()])
    thread = threading.Thread(target=server.serve_forever, name="test-jwks", daemon=True)
    thread.start()
    try:
        yield holder["issuer"]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def unsigned_token(payload: dict[str, Any], kid: str) -> str:
    """A token with `alg: none` (no signature), as an attacker would send it."""
    return jwt.encode(payload, key=None, algorithm="none", headers={"kid": kid})


def hs256_with_public_key(issuer: Issuer, subject: str = "user-123") -> str:
    """HS256 keyed with the issuer's public RSA key as a shared secret: the classic algorithm-confusion forgery."""
    import base64
    import hashlib
    import hmac

    from cryptography.hazmat.primitives import serialization

    key = issuer.keys[0]
    public_pem = key.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    now = int(time.time())

    def b64(data: bytes) -> bytes:
        return base64.urlsafe_b64encode(data).rstrip(b"=")

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": key.kid}).encode())
    payload = b64(
        json.dumps({"iss": issuer.url, "aud": AUDIENCE, "sub": subject, "iat": now, "exp": now + 300}).encode()
    )
    signature = b64(hmac.new(public_pem, header + b"." + payload, hashlib.sha256).digest())
    return (header + b"." + payload + b"." + signature).decode()
