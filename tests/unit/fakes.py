"""In-memory fakes of the ports in `warden.domain.ports`, and small builders the unit tests share."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from warden.config import RuntimeConfig, ThrottleConfig, parse_config
from warden.domain.strikes import StrikeLadder, effective_status, warning_text
from warden.domain.throttle import RateDecision, take_token
from warden.errors import ScreenerFailedError, StorageError, WardenError
from warden.models import (
    AuditRecord,
    ClaudeReply,
    RateBucket,
    ReviewItem,
    ScreenerVerdict,
    Strike,
    UserStanding,
    UserStatus,
    UserTurn,
    turns_text,
)
from warden.taxonomy import Category

MODEL = "claude-sonnet-4-5"


def runtime_config(**overrides: Any) -> RuntimeConfig:
    """A valid runtime configuration allowing MODEL; top-level keys of the `warden` context can be overridden."""
    context: dict[str, Any] = {"models": {"allowed": [MODEL]}, **overrides}
    return parse_config(context).runtime()


def claude_message(text: str = "Hello from Claude.", message_id: str = "msg_01") -> dict[str, Any]:
    """A Messages API response body as Claude returns it."""
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "output_tokens": 5},
    }


def claude_reply(body: dict[str, Any]) -> ClaudeReply:
    return ClaudeReply(body=body, provider="anthropic", provider_model_id=MODEL, latency_ms=1.0)


@dataclass
class _UserState:
    status: UserStatus = UserStatus.ACTIVE
    until: int | None = None
    warned_until: int | None = None
    strikes: list[Strike] = field(default_factory=list)
    bucket: RateBucket | None = None
    policy_version: str | None = None


class FakeUserStore:
    """Users in a dict, evaluated by the real StrikeLadder and token bucket, as the DynamoDB store does."""

    def __init__(self, ladder: StrikeLadder, *, fail_reads: bool = False, fail_strikes: bool = False):
        self.ladder = ladder
        self.fail_reads = fail_reads
        self.fail_strikes = fail_strikes
        self.users: dict[str, _UserState] = {}
        self.strike_calls: list[tuple[str, str, str, list[Category]]] = []
        self.ladders_used: list[StrikeLadder] = []
        self.token_calls = 0
        self.requests: dict[str, int] = {}

    def set_status(
        self, user_hash: str, status: UserStatus, until: int | None = None, warned_until: int | None = None
    ) -> None:
        state = self.users.setdefault(user_hash, _UserState())
        state.status, state.until, state.warned_until = status, until, warned_until

    def _standing(self, user_hash: str, now_epoch: int, ladder: StrikeLadder) -> UserStanding:
        state = self.users.get(user_hash, _UserState())
        active = ladder.active(state.strikes, now_epoch)
        status = effective_status(state.status, state.until, now_epoch, state.warned_until)
        return UserStanding(
            user_hash=user_hash,
            status=status,
            active_strikes=len(active),
            strikes=active,
            policy_version_accepted=state.policy_version,
            warning=warning_text(status, len(active), ladder.config.suspend_at),
            status_until=state.until if status is state.status else None,
            warned_until=state.warned_until,
            rate_bucket=state.bucket,
        )

    def get_standing(self, user_hash: str, now: datetime, ladder: StrikeLadder | None = None) -> UserStanding:
        if self.fail_reads:
            raise StorageError("users table read failed: fake")
        self.ladders_used.append(ladder or self.ladder)
        return self._standing(user_hash, int(now.timestamp()), ladder or self.ladder)

    get_standing_detail = get_standing

    def record_request(
        self, user_hash: str, tenant_id: str, now: datetime, ladder: StrikeLadder | None = None
    ) -> UserStanding:
        standing = self.get_standing(user_hash, now, ladder)
        self.requests[user_hash] = self.requests.get(user_hash, 0) + 1
        return standing

    def add_strike(
        self,
        user_hash: str,
        tenant_id: str,
        request_id: str,
        categories: Sequence[Category],
        now: datetime,
        ladder: StrikeLadder | None = None,
    ) -> UserStanding:
        if self.fail_strikes:
            raise StorageError("strike write failed: fake")
        ladder = ladder or self.ladder
        self.strike_calls.append((user_hash, tenant_id, request_id, list(categories)))
        epoch = int(now.timestamp())
        state = self.users.setdefault(user_hash, _UserState())
        state.strikes.append(
            Strike(
                request_id=request_id,
                categories=list(categories),
                at=now.isoformat(),
                expires_at=epoch + ladder.window_seconds,
            )
        )
        step = ladder.evaluate(state.strikes, epoch)
        state.status, state.until, state.warned_until = step.status, step.until, step.warned_until
        return self._standing(user_hash, epoch, ladder)

    def take_token(
        self, user_hash: str, standing: UserStanding, throttle: ThrottleConfig, now: datetime
    ) -> RateDecision:
        self.token_calls += 1
        decision = take_token(standing.rate_bucket, throttle, int(now.timestamp() * 1000), standing.status_until)
        if decision.allowed:
            self.users.setdefault(user_hash, _UserState()).bucket = decision.bucket
        return decision

    def record_policy_acceptance(self, user_hash: str, version: str, now: datetime) -> None:
        self.users.setdefault(user_hash, _UserState()).policy_version = version


class RecordingAuditStore:
    def __init__(self, *, fail: bool = False):
        self.fail = fail
        self.records: list[AuditRecord] = []

    def write(self, record: AuditRecord) -> str:
        if self.fail:
            raise StorageError("S3 and the fallback queue both failed: fake")
        self.records.append(record)
        return f"records/fake/{record.request_id}.json"


class RecordingReviewQueue:
    def __init__(self, *, fail: bool = False):
        self.fail = fail
        self.items: list[ReviewItem] = []

    def enqueue(self, item: ReviewItem) -> None:
        if self.fail:
            raise StorageError("review queue unavailable: fake")
        self.items.append(item)


class ScriptedClaude:
    """Answers each call with the next scripted reply body, or raises the next scripted error."""

    def __init__(self, *script: dict[str, Any] | WardenError):
        self.script = list(script) or [claude_message()]
        self.calls: list[dict[str, Any]] = []

    def create_message(self, body: dict[str, Any], *, timeout: float | None = None) -> ClaudeReply:
        self.calls.append(body)
        step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(step, WardenError):
            raise step
        return claude_reply(step)


class StaticScreener:
    """Gives the same scores for every text and remembers what it was asked."""

    def __init__(self, name: str = "static", scores: Mapping[Category, float] | None = None):
        self.name = name
        self.scores = dict(scores or {})
        self.texts: list[str] = []

    def screen(self, text: str) -> ScreenerVerdict:
        self.texts.append(text)
        return ScreenerVerdict(screener=self.name, scores=self.scores, latency_ms=0.1)


class KeywordScreener:
    """Gives `scores` to texts containing `keyword` and nothing to others; remembers what it was asked."""

    def __init__(self, name: str, keyword: str, scores: Mapping[Category, float]):
        self.name = name
        self.keyword = keyword
        self.scores = dict(scores)
        self.texts: list[str] = []

    def screen(self, text: str) -> ScreenerVerdict:
        self.texts.append(text)
        return ScreenerVerdict(screener=self.name, scores=self.scores if self.keyword in text else {}, latency_ms=0.1)


class FailingScreener:
    def __init__(self, name: str = "failing", message: str = "moderator call failed: timeout"):
        self.name = name
        self.message = message
        self.texts: list[str] = []

    def screen(self, text: str) -> ScreenerVerdict:
        self.texts.append(text)
        raise ScreenerFailedError(self.message)


class ConversationReadingScreener:
    """Reads the conversation turn by turn, attachments included (a `ConversationScreener`, like the Claude
    moderator): gives `scores` when `keyword` is in a turn's text or in an attachment's decoded data (a stand-in
    for a model reading a picture). With `fail`, raises ScreenerFailedError instead. `seen` keeps, per call, the
    joined text and every attachment in order; `turns` the turns themselves."""

    def __init__(self, name: str, keyword: str, scores: Mapping[Category, float], fail: bool = False):
        self.name = name
        self.keyword = keyword
        self.scores = dict(scores)
        self.fail = fail
        self.seen: list[tuple[str, list[dict[str, Any]]]] = []
        self.turns: list[list[UserTurn]] = []

    def screen(self, text: str) -> ScreenerVerdict:
        return self.screen_turns([UserTurn(text)])

    def screen_turns(self, turns: Sequence[UserTurn]) -> ScreenerVerdict:
        attachments = [attachment for turn in turns for attachment in turn.attachments]
        self.seen.append((turns_text(turns), attachments))
        self.turns.append(list(turns))
        if self.fail:
            raise ScreenerFailedError("moderator call failed: timeout")
        pictured = [base64.b64decode(a["source"].get("data", "")).decode("latin-1") for a in attachments]
        found = any(self.keyword in part for part in (turns_text(turns), *pictured))
        return ScreenerVerdict(
            screener=self.name, scores=self.scores if found else {}, latency_ms=0.1, attachments=len(attachments)
        )
