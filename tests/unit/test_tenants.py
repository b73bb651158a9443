"""Tenant authentication: the key from either header, and the per-container resolver cache."""

from __future__ import annotations

import pytest
from warden.domain.identity import hash_api_key
from warden.domain.tenants import TenantResolver, api_key_from_headers
from warden.models import Tenant

KEY = "sk-warden-abc"
TENANT = Tenant(tenant_id="tenant-a", name="Tenant A")


@pytest.mark.parametrize(
    "headers",
    [
        {"x-api-key": KEY},
        {"X-Api-Key": KEY},
        {"X-API-KEY": f"  {KEY} "},
        {"Authorization": f"Bearer {KEY}"},
        {"authorization": f"bearer {KEY}"},
        {"AUTHORIZATION": f"BEARER {KEY}"},
    ],
)
def test_api_key_is_read_from_either_header_in_any_case(headers: dict[str, str]) -> None:
    assert api_key_from_headers(headers) == KEY


def test_x_api_key_wins_over_authorization() -> None:
    assert api_key_from_headers({"Authorization": "Bearer other", "x-api-key": KEY}) == KEY


@pytest.mark.parametrize(
    "headers",
    [{}, {"x-api-key": "  "}, {"Authorization": "Bearer "}, {"Authorization": f"Basic {KEY}"}, {"Authorization": KEY}],
)
def test_no_usable_key_gives_none(headers: dict[str, str]) -> None:
    assert api_key_from_headers(headers) is None


class CountingFinder:
    def __init__(self, tenants: dict[str, Tenant]):
        self.by_hash = {hash_api_key(key): tenant for key, tenant in tenants.items()}
        self.lookups: list[str] = []

    def find_by_key_hash(self, key_hash: str) -> Tenant | None:
        self.lookups.append(key_hash)
        return self.by_hash.get(key_hash)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_resolver_looks_tenants_up_by_key_hash_never_the_key() -> None:
    finder = CountingFinder({KEY: TENANT})

    assert TenantResolver(finder, ttl_seconds=60).resolve(KEY) == TENANT
    assert finder.lookups == [hash_api_key(KEY)]


def test_resolver_serves_a_hit_from_cache_within_ttl() -> None:
    finder, clock = CountingFinder({KEY: TENANT}), FakeClock()
    resolver = TenantResolver(finder, ttl_seconds=60, clock=clock)
    resolver.resolve(KEY)

    clock.now += 59
    tenant = resolver.resolve(KEY)

    assert tenant == TENANT
    assert len(finder.lookups) == 1


def test_resolver_caches_misses_too() -> None:
    finder, clock = CountingFinder({}), FakeClock()
    resolver = TenantResolver(finder, ttl_seconds=60, clock=clock)
    resolver.resolve("unknown-key")

    clock.now += 30
    tenant = resolver.resolve("unknown-key")

    assert tenant is None
    assert len(finder.lookups) == 1


def test_resolver_looks_again_once_the_ttl_has_passed() -> None:
    # Given a cached tenant whose key is then revoked
    finder, clock = CountingFinder({KEY: TENANT}), FakeClock()
    resolver = TenantResolver(finder, ttl_seconds=60, clock=clock)
    resolver.resolve(KEY)
    finder.by_hash.clear()

    # When the ttl has passed
    clock.now += 60
    tenant = resolver.resolve(KEY)

    # Then the revocation is seen
    assert tenant is None
    assert len(finder.lookups) == 2


def test_resolver_with_zero_ttl_never_caches() -> None:
    finder = CountingFinder({KEY: TENANT})
    resolver = TenantResolver(finder, ttl_seconds=0, clock=FakeClock())

    resolver.resolve(KEY)
    resolver.resolve(KEY)

    assert len(finder.lookups) == 2


def test_tenant_settings_round_trip_keeps_meaningful_nulls() -> None:
    # A ladder without a throttle step says so with a null; dropping it would bring back the default step.
    from warden.config import StrikeLadderConfig
    from warden.models import Tenant

    ladder = StrikeLadderConfig(warn_at=1, throttle_at=None, suspend_at=2)
    tenant = Tenant(tenant_id="kids", name="Kids", strike_ladder=ladder)

    settings = tenant.settings()

    assert "fail_mode" not in settings  # an unset override is left out
    assert Tenant.from_settings("kids", settings).strike_ladder == ladder
