"""The collaborators the domain needs, as Protocols; adapters implement them, tests fake them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from warden.config import ThrottleConfig
from warden.domain.strikes import StrikeLadder
from warden.domain.throttle import RateDecision
from warden.models import AuditRecord, ClaudeReply, ReviewItem, ScreenerVerdict, UserStanding, UserTurn
from warden.taxonomy import Category


class Screener(Protocol):
    name: str

    def screen(self, text: str) -> ScreenerVerdict:
        """Score `text` per category; raise ScreenerFailedError when no verdict can be given."""
        ...


@runtime_checkable
class ConversationScreener(Screener, Protocol):
    """A screener that reads the conversation turn by turn, images and documents included (the Claude moderator)."""

    def screen_turns(self, turns: Sequence[UserTurn]) -> ScreenerVerdict:
        """Score the turns together; the verdict's `attachments` says how many images and documents it read."""
        ...


class ClaudeClient(Protocol):
    def create_message(self, body: dict[str, Any], *, timeout: float | None = None) -> ClaudeReply:
        """Call Claude with an Anthropic Messages body; raise UpstreamError / DependencyUnavailableError."""
        ...


class UserStore(Protocol):
    def get_standing(self, user_hash: str, now: datetime, ladder: StrikeLadder | None = None) -> UserStanding:
        """The stored standing (one read); `ladder` is the tenant's, else the deployment's."""
        ...

    def record_request(
        self, user_hash: str, tenant_id: str, now: datetime, ladder: StrikeLadder | None = None
    ) -> UserStanding:
        """Count one request of the user and return their standing (the one call on the hot path)."""
        ...

    def add_strike(
        self,
        user_hash: str,
        tenant_id: str,
        request_id: str,
        categories: Sequence[Category],
        now: datetime,
        ladder: StrikeLadder | None = None,
    ) -> UserStanding:
        """Record one strike atomically and return the user's standing after the ladder has re-evaluated."""
        ...

    def take_token(
        self, user_hash: str, standing: UserStanding, throttle: ThrottleConfig, now: datetime
    ) -> RateDecision:
        """Atomically take one token from a throttled user's bucket, or say when to retry."""
        ...


class AuditStore(Protocol):
    def write(self, record: AuditRecord) -> str:
        """Store the record (retrying, then falling back); return its S3 key."""
        ...


class ReviewQueue(Protocol):
    def enqueue(self, item: ReviewItem) -> None: ...
