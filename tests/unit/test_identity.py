"""The keyed user hash (the only user id Warden stores or forwards) and the tenant key hash."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from warden.domain.identity import hash_api_key, hash_user_id
from warden.models import Tenant

KEY = b"test-key"


def test_user_hash_is_hmac_sha256_of_tenant_and_user() -> None:
    # Known answer from `printf 'tenant-a:user-42' | openssl dgst -sha256 -hmac test-key`. Stored strikes are
    # keyed by this hash, so any change to its input format silently resets every user's standing.
    expected = "b4f48403485461d4cf6b501a84cf3a729c8f8efa566db835f1d9573f62695172"

    assert hash_user_id(KEY, "tenant-a", "user-42") == expected


def test_same_user_in_two_tenants_gets_unrelated_hashes() -> None:
    assert hash_user_id(KEY, "tenant-a", "user-42") != hash_user_id(KEY, "tenant-b", "user-42")


def test_user_hash_depends_on_the_key() -> None:
    assert hash_user_id(KEY, "tenant-a", "user-42") != hash_user_id(b"other-key", "tenant-a", "user-42")


def test_user_hash_does_not_contain_the_raw_id() -> None:
    assert "user-42" not in hash_user_id(KEY, "tenant-a", "user-42")


def test_empty_key_is_refused() -> None:
    with pytest.raises(ValueError, match="key is empty"):
        hash_user_id(b"", "tenant-a", "user-42")


def test_api_key_hash_is_sha256_hex() -> None:
    # Known answer from `printf 'sk-warden-abc' | sha256sum`: the tenants table is keyed by it.
    assert hash_api_key("sk-warden-abc") == "7588e437c1740325c8883ab350f1a7f5e1a3720044a283b2eee05fc0a95ed95f"


def test_tenant_ids_cannot_contain_the_hash_separator() -> None:
    # "a:b" + "c" and "a" + "b:c" would otherwise hash to the same user.
    with pytest.raises(ValidationError):
        Tenant(tenant_id="a:b", name="x")
    assert Tenant(tenant_id="acme-prod_1", name="Acme").tenant_id == "acme-prod_1"
