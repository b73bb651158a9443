"""Reviewer actions on enforcement: what the review system (reviewer API) calls to overturn a strike."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Protocol

from warden.errors import InvalidRequestError
from warden.models import UserStanding

_USER_HASH = re.compile(r"^[0-9a-f]{64}$")
MAX_REASON_CHARS = 2000


class StrikeDismisser(Protocol):
    def dismiss_strike(
        self, user_hash: str, request_id: str, reviewer: str, reason: str, now: datetime
    ) -> UserStanding: ...


def dismiss_strike(
    users: StrikeDismisser, user_hash: str, request_id: str, reviewer: str, reason: str, now: datetime
) -> UserStanding:
    """A reviewer found a block wrong: its strike stops counting and the user's status is recomputed at once.

    Raises `InvalidRequestError` for a malformed call and `NotFoundError` when the user has no such strike.
    """
    if not _USER_HASH.match(user_hash):
        raise InvalidRequestError("user_hash must be the 64-character hex hash Warden reports")
    if not request_id.strip():
        raise InvalidRequestError("request_id names the blocked request whose strike is dismissed")
    if not reviewer.strip():
        raise InvalidRequestError("reviewer must name who dismissed the strike (reviewer actions are recorded)")
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON_CHARS:
        raise InvalidRequestError(f"reason is required (1 to {MAX_REASON_CHARS} characters)")
    return users.dismiss_strike(user_hash, request_id, reviewer, reason, now)
