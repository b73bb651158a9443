"""End-user identity: the keyed hash that is the only user id Warden stores or sends on."""

from __future__ import annotations

import hashlib
import hmac

from warden.config import IdentityMode
from warden.constants import HEADER_USER_TOKEN
from warden.errors import AuthenticationError, InvalidRequestError, PermissionDeniedError
from warden.models import Tenant


def hash_user_id(key: bytes, tenant_id: str, user_id: str) -> str:
    """HMAC-SHA256(key, tenant_id + ":" + user_id), hex. Same user in two tenants → two unrelated hashes."""
    if not key:
        raise ValueError("the user-hash key is empty")
    return hmac.new(key, f"{tenant_id}:{user_id}".encode(), hashlib.sha256).hexdigest()


def hash_api_key(api_key: str) -> str:
    """Tenant keys are stored only as their SHA-256 (they are long random secrets, so no salt is needed)."""
    return hashlib.sha256(api_key.encode()).hexdigest()


def end_user_id(tenant: Tenant, claimed: str | None, verified_subject: str | None) -> str:
    """The end user a request is for: the app's `metadata.user_id`, or for JWT tenants the verified token's `sub`.

    A JWT tenant's app runs on the end user's device, so what it claims is not evidence: a `metadata.user_id`
    that differs from the token's subject is an attempt to act as someone else and is refused (403).
    """
    if tenant.identity is IdentityMode.JWT:
        if not verified_subject:
            raise AuthenticationError(
                f"this tenant identifies end users by token: send the end user's token ({HEADER_USER_TOKEN} header)"
            )
        if claimed is not None and claimed != verified_subject:
            raise PermissionDeniedError(
                "metadata.user_id does not match the end user's verified token; omit it (the token names the user)"
            )
        return verified_subject
    if not claimed:
        raise InvalidRequestError(
            "metadata.user_id is required: name the end user with your own stable id for them "
            "(Warden stores and forwards only a keyed hash of it)"
        )
    return claimed


def require_own_standing(tenant: Tenant, requested_user_id: str, verified_subject: str | None) -> None:
    """A JWT tenant's end user may read (or change) only their own standing, never another user's."""
    if tenant.identity is not IdentityMode.JWT:
        return
    if not verified_subject:
        raise AuthenticationError(
            f"this tenant identifies end users by token: send the end user's token ({HEADER_USER_TOKEN} header)"
        )
    if requested_user_id != verified_subject:
        raise PermissionDeniedError("an end user may only see their own standing (the user id must be the token's)")
