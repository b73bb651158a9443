"""Which end user a request is for: the app's `metadata.user_id`, or a JWT tenant's verified token subject."""

from __future__ import annotations

import pytest
from warden.config import IdentityMode
from warden.domain.identity import end_user_id, require_own_standing
from warden.domain.tenants import user_token_from_headers
from warden.errors import AuthenticationError, InvalidRequestError, PermissionDeniedError
from warden.models import Tenant

BACKEND = Tenant(tenant_id="acme", name="Acme")
JWT = Tenant(tenant_id="mobile", name="Mobile", identity=IdentityMode.JWT)


def test_trusted_backend_names_the_user_in_metadata() -> None:
    assert end_user_id(BACKEND, "alice", None) == "alice"


@pytest.mark.parametrize("claimed", [None, ""])
def test_trusted_backend_without_metadata_user_id_is_a_400(claimed: str | None) -> None:
    with pytest.raises(InvalidRequestError, match=r"metadata\.user_id is required"):
        end_user_id(BACKEND, claimed, None)


def test_trusted_backend_ignores_any_subject() -> None:
    # Only JWT tenants' authorizer context carries one; the app's own id is what counts here.
    assert end_user_id(BACKEND, "alice", "bob") == "alice"


def test_jwt_tenant_uses_the_verified_subject_and_metadata_may_be_omitted() -> None:
    assert end_user_id(JWT, None, "sub-1") == "sub-1"


def test_jwt_tenant_accepts_metadata_that_agrees() -> None:
    assert end_user_id(JWT, "sub-1", "sub-1") == "sub-1"


def test_jwt_tenant_refuses_metadata_naming_someone_else() -> None:
    with pytest.raises(PermissionDeniedError, match="does not match the end user's verified token"):
        end_user_id(JWT, "someone-else", "sub-1")


def test_jwt_tenant_without_a_verified_subject_is_unauthenticated() -> None:
    with pytest.raises(AuthenticationError):
        end_user_id(JWT, "alice", None)


def test_jwt_user_may_read_only_their_own_standing() -> None:
    require_own_standing(JWT, "sub-1", "sub-1")
    with pytest.raises(PermissionDeniedError):
        require_own_standing(JWT, "sub-2", "sub-1")
    with pytest.raises(AuthenticationError):
        require_own_standing(JWT, "sub-1", None)


def test_trusted_backend_may_read_any_of_its_users() -> None:
    require_own_standing(BACKEND, "anyone", None)


@pytest.mark.parametrize(
    ("headers", "token"),
    [
        ({"Authorization": "Bearer tenant-key", "warden-user-token": "jwt"}, "jwt"),
        ({"x-api-key": "tenant-key", "warden-user-token": "Bearer jwt"}, "jwt"),
        ({"X-Api-Key": "tenant-key", "Authorization": "Bearer jwt"}, "jwt"),
        # The Bearer is the tenant key when there is no x-api-key, never a user token.
        ({"Authorization": "Bearer tenant-key"}, None),
        ({"x-api-key": "tenant-key"}, None),
        ({"x-api-key": "tenant-key", "Authorization": "Basic abc"}, None),
    ],
)
def test_user_token_header_placement(headers: dict[str, str], token: str | None) -> None:
    assert user_token_from_headers(headers) == token
