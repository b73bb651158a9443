"""A user's standing as the app sees it (`GET /v1/users/{user_id}`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from warden.domain.identity import hash_user_id
from warden.errors import InvalidRequestError
from warden.models import UserStanding


class StandingReader(Protocol):
    def get_standing_detail(self, user_hash: str, now: datetime) -> UserStanding: ...


def user_standing(user_id: str, tenant_id: str, key: bytes, users: StandingReader, now: datetime) -> dict[str, Any]:
    if not user_id or len(user_id) > 256:
        raise InvalidRequestError("user_id must be 1 to 256 characters (URL-encode it in the path)")
    standing = users.get_standing_detail(hash_user_id(key, tenant_id, user_id), now)
    return {
        "user_hash": standing.user_hash,
        "status": standing.status.value,
        "active_strikes": standing.active_strikes,
        "strikes": [
            {"categories": [c.value for c in strike.categories], "at": strike.at, "expires_at": strike.expires_at}
            for strike in standing.strikes
        ],
        "policy_version_accepted": standing.policy_version_accepted,
        "warning": standing.warning,
    }
