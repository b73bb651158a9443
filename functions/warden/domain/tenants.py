"""Tenant authentication: which tenant an API key belongs to, with a short per-container cache."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Protocol

from warden.constants import HEADER_API_KEY, HEADER_AUTHORIZATION, HEADER_USER_TOKEN
from warden.domain.identity import hash_api_key
from warden.models import Tenant

_BEARER = "bearer "


class TenantFinder(Protocol):
    def find_by_key_hash(self, key_hash: str) -> Tenant | None: ...


def _without_bearer(value: str) -> str | None:
    """The credential of an `Authorization`-style value `Bearer <credential>`; None when it is not one."""
    value = value.strip()
    if value.lower().startswith(_BEARER):
        return value[len(_BEARER) :].strip() or None
    return None


def api_key_from_headers(headers: Mapping[str, str]) -> str | None:
    """The tenant key from `x-api-key` or `Authorization: Bearer` (SDK versions differ in which they send)."""
    lowered = {name.lower(): value for name, value in headers.items()}
    key = lowered.get(HEADER_API_KEY, "").strip()
    if key:
        return key
    return _without_bearer(lowered.get(HEADER_AUTHORIZATION, ""))


def user_token_from_headers(headers: Mapping[str, str]) -> str | None:
    """The end user's token (JWT tenants): the `warden-user-token` header, or the Bearer value beside an x-api-key.

    SDKs that send the tenant key as `x-api-key` carry the user's token in `Authorization: Bearer`
    (`auth_token=`); those that send the key as the Bearer need the dedicated header (`default_headers=`).
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    token = lowered.get(HEADER_USER_TOKEN, "").strip()
    if token:
        return _without_bearer(token) or token
    if lowered.get(HEADER_API_KEY, "").strip():
        return _without_bearer(lowered.get(HEADER_AUTHORIZATION, ""))
    return None


class TenantResolver:
    """Looks tenants up by key hash; caches hits and misses for `ttl_seconds` (a disabled key stops within it)."""

    def __init__(self, finder: TenantFinder, ttl_seconds: int, clock: Callable[[], float] = time.monotonic):
        self.finder = finder
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self._cache: dict[str, tuple[float, Tenant | None]] = {}

    def resolve(self, api_key: str) -> Tenant | None:
        key_hash = hash_api_key(api_key)
        now = self.clock()
        cached = self._cache.get(key_hash)
        if cached and cached[0] > now:
            return cached[1]
        tenant = self.finder.find_by_key_hash(key_hash)
        if self.ttl_seconds:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[key_hash] = (now + self.ttl_seconds, tenant)
        return tenant
