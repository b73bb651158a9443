"""End-user tokens of JWT tenants: which issuer signed one, and whether it is valid for this deployment.

The cryptography is PyJWT's. This module decides policy only: which issuers a tenant trusts, which
algorithms each may use (asymmetric only, so `none` and HS256-with-a-public-key never verify), which
claims must be present, and what counts as the end user's id (`sub`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import jwt

from warden.config import OidcIssuerConfig

# Well above any real ID token; bounds the work an oversized header can cause before verification.
MAX_TOKEN_CHARS = 8192
# The longest end-user id the gateway accepts (`metadata.user_id`).
MAX_SUBJECT_CHARS = 256
REQUIRED_CLAIMS = ("exp", "iss", "aud", "sub")


class InvalidUserTokenError(Exception):
    """The token does not identify an end user; `reason` is safe to log (it never contains the token)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class SigningKeysUnavailableError(Exception):
    """An issuer's key set could not be fetched: nobody can be verified, which is not the caller's fault."""


class SigningKeys(Protocol):
    def signing_key(self, issuer: OidcIssuerConfig, kid: str) -> jwt.PyJWK:
        """The issuer's key with this id; raise `InvalidUserTokenError` if it has none, after one refresh."""
        ...


@dataclass(frozen=True)
class VerifiedEndUser:
    subject: str
    issuer: str


def trusted_issuers(issuers: Sequence[OidcIssuerConfig], names: Sequence[str] | None) -> list[OidcIssuerConfig]:
    """The deployment's issuers a tenant accepts: all of them, or those named in its `trusted_issuers`."""
    if names is None:
        return list(issuers)
    wanted = set(names)
    return [issuer for issuer in issuers if issuer.label in wanted or issuer.issuer in wanted]


def _unverified_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims before verification: only used to choose the issuer and key to verify with."""
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError as error:
        raise InvalidUserTokenError("malformed token") from error
    return header, claims


class UserTokenVerifier:
    """Verifies end-user JWTs against the issuers of this deployment (signature, exp, nbf, iss, aud, sub)."""

    def __init__(self, issuers: Sequence[OidcIssuerConfig], keys: SigningKeys, leeway_seconds: int = 30):
        self.issuers = tuple(issuers)
        self.keys = keys
        self.leeway_seconds = leeway_seconds

    def verify(self, token: str, trusted: Sequence[str] | None = None) -> VerifiedEndUser:
        """The end user a token names, if an issuer in `trusted` (None: any of the deployment's) signed it."""
        if len(token) > MAX_TOKEN_CHARS:
            raise InvalidUserTokenError("token too long")
        header, unverified = _unverified_parts(token)
        claimed_issuer = unverified.get("iss")
        issuer = next((i for i in trusted_issuers(self.issuers, trusted) if i.issuer == claimed_issuer), None)
        if issuer is None:
            raise InvalidUserTokenError("issuer not trusted for this tenant")
        algorithm = header.get("alg")
        if algorithm not in issuer.algorithms:
            raise InvalidUserTokenError(f"algorithm {str(algorithm)[:16]!r} not accepted")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidUserTokenError("token names no signing key (kid)")
        key = self.keys.signing_key(issuer, kid)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=list(issuer.audience),
                issuer=issuer.issuer,
                leeway=self.leeway_seconds,
                options={"require": list(REQUIRED_CLAIMS)},
            )
        except jwt.InvalidTokenError as error:
            raise InvalidUserTokenError(type(error).__name__) from error
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject.strip() or len(subject) > MAX_SUBJECT_CHARS:
            raise InvalidUserTokenError("token has no usable subject")
        return VerifiedEndUser(subject=subject, issuer=issuer.issuer)
