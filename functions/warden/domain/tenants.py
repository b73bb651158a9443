"""Tenant authentication: which tenant an API key belongs to, with a short per-container cache."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Protocol

from warden.domain.identity import hash_api_key
from warden.models import Tenant

_BEARER = "bearer "


class TenantFinder(Protocol):
    def find_by_key_hash(self, key_hash: str) -> Tenant | None: ...


def api_key_from_headers(headers: Mapping[str, str]) -> str | None:
    """The tenant key from `x-api-key` or `Authorization: Bearer` (SDK versions differ in which they send)."""
    lowered = {name.lower(): value for name, value in headers.items()}
    key = lowered.get("x-api-key", "").strip()
    if key:
        return key
    authorization = lowered.get("authorization", "").strip()
    if authorization.lower().startswith(_BEARER):
        return authorization[len(_BEARER) :].strip() or None
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
