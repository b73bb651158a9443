"""A user's standing as the app sees it (`GET /v1/users/{user_id}`), and recording policy acceptance."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from warden.config import UsagePolicyConfig
from warden.domain.identity import hash_user_id
from warden.domain.json_text import load_json
from warden.domain.strikes import StrikeLadder
from warden.errors import InvalidRequestError
from warden.models import Tenant, UserStanding, UserStatus


class StandingReader(Protocol):
    def get_standing_detail(
        self, user_hash: str, now: datetime, ladder: StrikeLadder | None = None
    ) -> UserStanding: ...


class PolicyAcceptanceStore(StandingReader, Protocol):
    def record_policy_acceptance(self, user_hash: str, version: str, now: datetime) -> None: ...


def _user_hash(user_id: str, tenant: Tenant, key: bytes) -> str:
    if not user_id or len(user_id) > 256:
        raise InvalidRequestError("user_id must be 1 to 256 characters (URL-encode it in the path)")
    return hash_user_id(key, tenant.tenant_id, user_id)


def _ladder(tenant: Tenant, default: StrikeLadder) -> StrikeLadder:
    return StrikeLadder(tenant.strike_ladder) if tenant.strike_ladder else default


def standing_view(
    standing: UserStanding, ladder: StrikeLadder, tenant: Tenant, policy: UsagePolicyConfig
) -> dict[str, Any]:
    """The JSON body of a user's standing."""
    throttle = ladder.config.throttle
    return {
        "user_hash": standing.user_hash,
        "status": standing.status.value,
        # When the status lapses by itself (warned, throttled); null for active and suspended.
        "status_until": standing.status_until,
        "active_strikes": standing.active_strikes,
        "strikes": [
            {"categories": [c.value for c in strike.categories], "at": strike.at, "expires_at": strike.expires_at}
            for strike in standing.strikes
        ],
        "throttle": (
            {"until": standing.status_until, "requests": throttle.requests, "per_seconds": throttle.per_seconds}
            if standing.status is UserStatus.THROTTLED
            else None
        ),
        "policy_version_accepted": standing.policy_version_accepted,
        "policy": {
            "current_version": policy.version,
            "url": policy.url,
            "accepted_version": standing.policy_version_accepted,
            "acceptance_required": tenant.require_policy_acceptance,
            "accepted": standing.policy_version_accepted == policy.version,
        },
        "warning": standing.warning,
    }


def user_standing(
    user_id: str,
    tenant: Tenant,
    key: bytes,
    users: StandingReader,
    default_ladder: StrikeLadder,
    policy: UsagePolicyConfig,
    now: datetime,
) -> dict[str, Any]:
    ladder = _ladder(tenant, default_ladder)
    standing = users.get_standing_detail(_user_hash(user_id, tenant, key), now, ladder)
    return standing_view(standing, ladder, tenant, policy)


def accept_policy(
    user_id: str,
    raw_body: bytes,
    tenant: Tenant,
    key: bytes,
    users: PolicyAcceptanceStore,
    default_ladder: StrikeLadder,
    policy: UsagePolicyConfig,
    now: datetime,
) -> dict[str, Any]:
    """Record that the user accepted the current usage-policy version (idempotent); return their standing."""
    user_hash = _user_hash(user_id, tenant, key)
    try:
        body = load_json(raw_body or b"null")
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidRequestError(f"request body is not valid JSON: {error}") from error
    version = body.get("version") if isinstance(body, dict) else None
    if version != policy.version:
        raise InvalidRequestError(
            f"version: the current usage-policy version is '{policy.version}' ({policy.url}); "
            f'send {{"version": "{policy.version}"}} once the user has accepted it',
            warden={"policy": {"current_version": policy.version, "url": policy.url}},
        )
    users.record_policy_acceptance(user_hash, policy.version, now)
    ladder = _ladder(tenant, default_ladder)
    return standing_view(users.get_standing_detail(user_hash, now, ladder), ladder, tenant, policy)
