"""End-user identity: the keyed hash that is the only user id Warden stores or sends on."""

from __future__ import annotations

import hashlib
import hmac


def hash_user_id(key: bytes, tenant_id: str, user_id: str) -> str:
    """HMAC-SHA256(key, tenant_id + ":" + user_id), hex. Same user in two tenants → two unrelated hashes."""
    if not key:
        raise ValueError("the user-hash key is empty")
    return hmac.new(key, f"{tenant_id}:{user_id}".encode(), hashlib.sha256).hexdigest()


def hash_api_key(api_key: str) -> str:
    """Tenant keys are stored only as their SHA-256 (they are long random secrets, so no salt is needed)."""
    return hashlib.sha256(api_key.encode()).hexdigest()
