"""The models that cross layer boundaries: request, verdicts, standing, audit record, review item and case."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, field_validator

from warden.config import FailMode, IdentityMode, PiiKind, StrikeLadderConfig
from warden.image_header import image_format, image_size
from warden.taxonomy import Category

# ---------------------------------------------------------------- the Anthropic Messages request


class RequestMetadata(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: Annotated[str, Field(min_length=1, max_length=256)] | None = None


class InputMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant"]
    content: str | list[dict[str, Any]]

    @field_validator("content")
    @classmethod
    def _blocks_have_types(cls, value: str | list[dict[str, Any]]) -> str | list[dict[str, Any]]:
        if isinstance(value, list):
            if not value:
                raise ValueError("content must not be an empty list")
            for index, block in enumerate(value):
                if not isinstance(block.get("type"), str):
                    raise ValueError(f"content block {index} needs a string 'type'")
                if block["type"] == "text" and not isinstance(block.get("text"), str):
                    raise ValueError(f"text content block {index} needs a string 'text'")
                problem = _inline_attachment_problem(block)
                if problem:
                    raise ValueError(f"{block['type']} content block {index}: {problem}")
        return value


# The media types Claude reads inline (base64); anything else it refuses, and so would the moderator's call, which
# the tenant's fail mode would then turn into an outage for a request that is simply malformed.
_INLINE_MEDIA_TYPES = {
    "image": ("image/jpeg", "image/png", "image/gif", "image/webp"),
    "document": ("application/pdf",),
}
_WHITESPACE = str.maketrans("", "", " \t\r\n")


def _inline_attachment_problem(block: dict[str, Any]) -> str | None:
    """What is wrong with an inline (base64) image or PDF, or None: its media type, that its data decodes, that the
    data is what the media type says, and (for an image) that it is no larger than Claude takes."""
    allowed = _INLINE_MEDIA_TYPES.get(block["type"])
    source = block.get("source")
    if allowed is None or not isinstance(source, dict) or source.get("type") != "base64":
        return None
    media_type = source.get("media_type")
    if media_type not in allowed:
        return f"source.media_type must be one of {', '.join(allowed)}"
    data = source.get("data")
    if not isinstance(data, str) or not data:
        return "source.data must be a non-empty base64 string"
    raw = _decoded(data)
    if raw is None:
        return "source.data is not valid base64"
    if block["type"] == "document":
        # (A PDF may have a few bytes before its header.)
        return None if b"%PDF-" in raw[:1024] else "source.data is not a PDF"
    actual = image_format(raw)
    if actual is None:
        return "source.data is not a JPEG, PNG, GIF or WebP image"
    if actual != media_type:
        return f"source.data is {_IMAGE_NAMES[actual]} image, but source.media_type says {media_type}"
    size = image_size(raw)
    if size and max(size) > MAX_IMAGE_SIDE:
        return f"the image is {size[0]}x{size[1]} pixels; Claude takes at most {MAX_IMAGE_SIDE} on a side"
    return None


_IMAGE_NAMES = {"image/jpeg": "a JPEG", "image/png": "a PNG", "image/gif": "a GIF", "image/webp": "a WebP"}
# Claude's limits on an image's size (Anthropic's vision guide): at most this many pixels on a side, and in a
# request of more than `MANY_IMAGES` images, at most `MANY_IMAGES_SIDE`.
MAX_IMAGE_SIDE = 8000
MANY_IMAGES = 20
MANY_IMAGES_SIDE = 2000


def _decoded(data: str) -> bytes | None:
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        try:  # line-wrapped base64 (as base64.encodebytes writes it)
            return base64.b64decode(data.translate(_WHITESPACE), validate=True)
        except (binascii.Error, ValueError):
            return None


def inline_data(block: Mapping[str, Any]) -> bytes | None:
    """The bytes of an inline (base64, line-wrapped or not) image or document block, or None when it is not one
    or its data does not decode."""
    source = block.get("source")
    if not isinstance(source, Mapping) or source.get("type") != "base64":
        return None
    return _decoded(str(source.get("data", "")))


def inline_image_size(block: dict[str, Any]) -> tuple[int, int] | None:
    """The size in pixels of an inline image block (validated already), or None when it is not inline or its
    header is not understood."""
    raw = inline_data(block) if block.get("type") == "image" else None
    return image_size(raw) if raw else None


class MessagesRequest(BaseModel):
    """The body of `POST /v1/messages`. Fields Warden does not inspect pass through to Claude unchanged."""

    model_config = ConfigDict(extra="allow")

    model: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    # Strict: what is validated must be what Claude receives ("100" or true would pass here and fail there).
    max_tokens: Annotated[StrictInt, Field(ge=1)]
    messages: Annotated[list[InputMessage], Field(min_length=1)]
    system: str | list[dict[str, Any]] | None = None
    metadata: RequestMetadata | None = None
    stream: StrictBool | None = None


# Document sources that carry text the screeners read; other documents (a PDF, a file id) carry none.
_TEXT_SOURCES = ("text", "content")


def _text_of(content: str | list[dict[str, Any]]) -> list[str]:
    """The text a turn gives Claude: its text blocks, and the text of its documents (a plain-text source, or a
    content source's text blocks, with the title and context given for it). A PDF or an image has no text to
    screen here; a tool result is what the tenant's tool returned, not the end user's words, and is not read."""
    if isinstance(content, str):
        return [content]
    texts: list[str] = []
    for block in content:
        kind = block.get("type")
        if kind == "text" and isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif kind == "document":
            texts.extend(_document_text(block))
    return texts


def _document_text(block: dict[str, Any]) -> list[str]:
    texts = [block[field] for field in ("title", "context") if isinstance(block.get(field), str)]
    source = block.get("source")
    if not isinstance(source, dict) or source.get("type") not in _TEXT_SOURCES:
        return texts
    data = source.get("data") if source.get("type") == "text" else source.get("content")
    if isinstance(data, str):
        texts.append(data)
    elif isinstance(data, list):
        texts.extend(_text_of([part for part in data if isinstance(part, dict)]))
    return texts


# What the Claude moderator can read besides text: images, and documents Claude reads as files (a PDF), given
# inline (base64) or by URL. A Files API file id is not readable without the tenant's files, so it is not sent.
ATTACHMENT_KINDS = ("image", "document")
_ATTACHMENT_SOURCES = ("base64", "url")


def _attachment(block: dict[str, Any]) -> dict[str, Any] | None:
    """The block as the moderator gets it (its kind and source only: no cache marks, citations or titles, whose
    text is screened already), or None when it is not an attachment the moderator can read."""
    if block.get("type") not in ATTACHMENT_KINDS:
        return None
    source = block.get("source")
    if not isinstance(source, dict) or source.get("type") not in _ATTACHMENT_SOURCES:
        return None
    return {"type": block["type"], "source": source}


@dataclass(frozen=True)
class UserTurn:
    """One user turn as a screener that reads the conversation sees it: its text (its text blocks and text
    documents) and its images and documents as Claude gets them (`_attachment`)."""

    text: str
    attachments: tuple[dict[str, Any], ...] = ()


def turns_text(turns: Sequence[UserTurn]) -> str:
    """The texts of the turns, as one text (what a screener that reads text alone gets)."""
    return "\n\n".join(turn.text for turn in turns if turn.text)


def end_user_turns(request: MessagesRequest) -> list[UserTurn]:
    """The end user's own turns, oldest first, that give Claude anything to screen (a turn of tool results alone
    does not). The tenant's system prompt and the assistant turns are not screened; `turns_text` of them is the
    end user's text, what every screener reads."""
    turns: list[UserTurn] = []
    for message in request.messages:
        if message.role != "user":
            continue
        text = "\n\n".join(part for part in _text_of(message.content) if part)
        attachments = () if isinstance(message.content, str) else tuple(filter(None, map(_attachment, message.content)))
        if text or attachments:
            turns.append(UserTurn(text, attachments))
    return turns


def unscreened_content(request: MessagesRequest, attachments_read: int = 0) -> str:
    """A note of what the user turns give Claude that no screener reads, or "" when there is none: images, PDF
    and other non-text documents (unless a screener read `attachments_read` of them, that is all of them: the
    moderator reads every one, the guardrail its PNG and JPEG images alone), blocks of kinds Warden does not
    know. Tool results are left out: they are the tenant's tools' output, not screened by design."""
    counts: dict[str, int] = {}
    # The attachments a screener may read (`_attachment`), counted apart: they are noted unless all were read.
    attachments: dict[str, int] = {}
    for message in request.messages:
        if message.role != "user" or isinstance(message.content, str):
            continue
        for block in message.content:
            kind = str(block.get("type"))
            if kind in ("text", "tool_result"):
                continue
            if kind == "document":
                source = block.get("source")
                if not isinstance(source, dict):
                    source = {}
                if source.get("type") in _TEXT_SOURCES:
                    continue
                media = source.get("media_type") or source.get("type")
                kind = f"document ({media})" if media else kind
            noted = attachments if _attachment(block) is not None else counts
            noted[kind] = noted.get(kind, 0) + 1
    if attachments_read < sum(attachments.values()):
        for kind, count in attachments.items():
            counts[kind] = counts.get(kind, 0) + count
    if not counts:
        return ""
    return "not screened: " + ", ".join(f"{kind} {count}" for kind, count in sorted(counts.items()))


def completion_text(body: dict[str, Any]) -> str:
    """The text of Claude's answer (its text blocks): what output screening screens."""
    content = body.get("content")
    if not isinstance(content, list):
        return ""
    blocks = [block for block in content if isinstance(block, dict)]
    return "\n\n".join(part for part in _text_of(blocks) if part)


# ---------------------------------------------------------------- screening


class Decision(StrEnum):
    """What Warden did with a request."""

    ALLOWED = "allowed"
    FLAGGED = "flagged"  # served, and sent to human review
    BLOCKED = "blocked"  # refused by screening
    SUSPENDED = "suspended"  # refused before screening: the user is suspended
    UNAVAILABLE = "unavailable"  # refused: a required screener failed and the tenant fails closed
    RATE_LIMITED = "rate_limited"  # refused before screening: a throttled user is over their rate
    POLICY_NOT_ACCEPTED = "policy_not_accepted"  # refused before screening: the usage policy is not yet accepted


class ScreenerVerdict(BaseModel):
    """One screener's result. Scores are confidences in [0, 1] per category it found."""

    model_config = ConfigDict(frozen=True)

    screener: str
    scores: dict[Category, float] = Field(default_factory=dict)
    latency_ms: float = 0.0
    error: str | None = None
    skipped_reason: str | None = None
    usage: dict[str, int] | None = None
    # How many of the end user's images and documents the screener read along with the text.
    attachments: int = 0
    # What the screener did not read of what it was given (the fast tier's cap on text length), or None.
    unread: str | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None

    @property
    def ran(self) -> bool:
        return self.error is None and self.skipped_reason is None


class ScreeningOutcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    decision: Decision
    blocked_categories: list[Category] = Field(default_factory=list)
    flagged_categories: list[Category] = Field(default_factory=list)
    verdicts: list[ScreenerVerdict] = Field(default_factory=list)
    unchecked: list[str] = Field(default_factory=list)
    # Per category found, the screeners whose scores reached its action.
    deciding_screeners: dict[Category, list[str]] = Field(default_factory=dict)
    latency_ms: float = 0.0
    # The screening profile applied; in shadow mode `decision` is what would have happened, not what did.
    profile: str = "default"
    shadow: bool = False

    @property
    def categories(self) -> list[Category]:
        return [*self.blocked_categories, *(c for c in self.flagged_categories if c not in self.blocked_categories)]


# ---------------------------------------------------------------- users


class UserStatus(StrEnum):
    ACTIVE = "active"
    WARNED = "warned"
    THROTTLED = "throttled"
    SUSPENDED = "suspended"


STATUS_RANK: dict[UserStatus, int] = {
    UserStatus.ACTIVE: 0,
    UserStatus.WARNED: 1,
    UserStatus.THROTTLED: 2,
    UserStatus.SUSPENDED: 3,
}


class Strike(BaseModel):
    model_config = ConfigDict(frozen=True)

    request_id: str
    categories: list[Category]
    at: str
    expires_at: int  # epoch seconds; DynamoDB TTL removes it after
    # A reviewer found the block wrong: the strike no longer counts (kept until it expires, for the record).
    dismissed: bool = False


class RateBucket(BaseModel):
    """A throttled user's token bucket as stored (see `warden.domain.throttle`)."""

    model_config = ConfigDict(frozen=True)

    tokens: float
    at_ms: int
    # Bumped on every write: the store's conditional writes compare it, so no admission is counted twice.
    sequence: int


class UserStanding(BaseModel):
    user_hash: str
    status: UserStatus = UserStatus.ACTIVE
    active_strikes: int = 0
    strikes: list[Strike] = Field(default_factory=list)
    policy_version_accepted: str | None = None
    warning: str | None = None
    # Epoch seconds when the current status lapses (warned, throttled), and when a warning ends.
    status_until: int | None = None
    warned_until: int | None = None
    rate_bucket: RateBucket | None = None
    # A reviewer suspended the user by hand: only a reinstatement lifts it, never the ladder or a dismissal.
    suspended_by_reviewer: bool = False


class UserActivity(BaseModel):
    """One row of the reviewers' users listing: how often a user violated the policy, against how much they used."""

    user_hash: str
    tenant_id: str | None = None
    status: UserStatus
    suspended_by_reviewer: bool = False
    # Strikes given and not dismissed, all time (expired ones included: this is history, not the ladder's count).
    violations: int
    requests: int
    # violations / requests; None before any request was counted.
    violation_rate: float | None
    active_strikes: int
    last_request_at: str | None = None
    last_strike_at: str | None = None


class UserActivityPage(BaseModel):
    users: list[UserActivity]
    cursor: str | None = None


# ---------------------------------------------------------------- tenants


class TenantStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


class Tenant(BaseModel):
    model_config = ConfigDict(frozen=True)

    # No ":" — the user hash joins tenant and user id with one, so "a:b"+"c" must not equal "a"+"b:c".
    tenant_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
    name: str
    status: TenantStatus = TenantStatus.ACTIVE
    # The API Gateway API key value tying this tenant to a usage plan (throttling and metering).
    usage_key: str | None = None
    # The screening profile (`screening.profiles` in cdk.json) this tenant's requests are screened with.
    profile: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")] = "default"
    # Per-tenant overrides of the deployment configuration (None: the deployment's setting applies).
    fail_mode: FailMode | None = None
    strike_ladder: StrikeLadderConfig | None = None
    identity: IdentityMode = IdentityMode.TRUSTED_BACKEND
    # End users must accept the current usage-policy version before their requests are served.
    require_policy_acceptance: bool = False
    # JWT tenants: the deployment's token issuers (names from `identity`) this tenant accepts; None: all of them.
    trusted_issuers: (
        Annotated[tuple[Annotated[str, Field(min_length=1, max_length=512)], ...], Field(min_length=1)] | None
    ) = None
    # Personal data redacted from this tenant's stored prompts and completions (None: the deployment's `redaction`).
    redaction: tuple[PiiKind, ...] | None = None

    def settings(self) -> dict[str, Any]:
        """What the gateway needs of the tenant besides its id (the authorizer hands it over as JSON)."""
        settings = self.model_dump(mode="json", include=set(TENANT_SETTINGS))
        # Unset overrides are left out; a null inside one (e.g. a ladder without a throttle step) is meaningful.
        return {name: value for name, value in settings.items() if value is not None}

    @classmethod
    def from_settings(cls, tenant_id: str, settings: Mapping[str, Any]) -> Tenant:
        return cls(tenant_id=tenant_id, name=tenant_id, **{k: v for k, v in settings.items() if k in TENANT_SETTINGS})


# The tenant fields that travel with each request (stored with the tenant record, overridable per tenant).
TENANT_SETTINGS = (
    "profile",
    "fail_mode",
    "strike_ladder",
    "identity",
    "require_policy_acceptance",
    "trusted_issuers",
    "redaction",
)


# ---------------------------------------------------------------- Claude


class Completion(BaseModel):
    """What the audit record keeps of Claude's answer."""

    message_id: str | None = None
    model: str | None = None
    content: list[dict[str, Any]] = Field(default_factory=list)
    stop_reason: str | None = None
    usage: dict[str, Any] = Field(default_factory=dict)


class ClaudeReply(BaseModel):
    """Claude's Message object exactly as it arrived, plus where it came from."""

    body: dict[str, Any]
    provider: str
    provider_model_id: str
    latency_ms: float

    def completion(self) -> Completion:
        return Completion(
            message_id=self.body.get("id"),
            model=self.body.get("model"),
            content=list(self.body.get("content") or []),
            stop_reason=self.body.get("stop_reason"),
            usage=dict(self.body.get("usage") or {}),
        )


# ---------------------------------------------------------------- audit record


class RecordedError(BaseModel):
    status: int
    type: str
    message: str


class AuditRecord(BaseModel):
    """One JSON object per request in the audit bucket. See docs/audit-record.md."""

    schema_version: Literal[1] = 1
    request_id: str
    received_at: str
    completed_at: str
    tenant_id: str
    user_hash: str
    template_id: str | None = None
    provider: str
    model: str
    provider_model_id: str | None = None
    system: str | list[dict[str, Any]] | None = None
    messages: list[dict[str, Any]]
    request_params: dict[str, Any] = Field(default_factory=dict)
    screening: ScreeningOutcome
    # Claude's answer screened (profiles with output_screening); null when not screened.
    output_screening: ScreeningOutcome | None = None
    decision: Decision
    user_status: UserStatus
    completion: Completion | None = None
    claude_message_id: str | None = None
    error: RecordedError | None = None
    latency_ms: dict[str, float] = Field(default_factory=dict)
    # Operational problems on the way (a strike or review item that could not be written, and why).
    notes: list[str] = Field(default_factory=list)
    warden_version: str


# ---------------------------------------------------------------- review


class ReviewSource(StrEnum):
    INPUT = "input"
    OUTPUT = "output"


class ReviewItem(BaseModel):
    """What goes on the review queue: references, never content. Reviewers read content from S3."""

    request_id: str
    tenant_id: str
    user_hash: str
    categories: list[Category]
    decision: Decision
    source: ReviewSource
    s3_key: str
    priority: Annotated[int, Field(ge=0, le=99)]
    created_at: str
    # Per category, the screeners whose scores reached its action (what a dismissal counts as their false positive).
    screeners: dict[Category, list[str]] = Field(default_factory=dict)


class CaseStatus(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    DECIDED = "decided"


class ReviewDecision(StrEnum):
    CONFIRM = "confirm"
    DISMISS = "dismiss"
    ESCALATE = "escalate"


class ReviewCase(BaseModel):
    case_id: str
    request_id: str
    source: ReviewSource
    tenant_id: str
    user_hash: str
    categories: list[Category]
    decision: Decision
    s3_key: str
    priority: int
    status: CaseStatus = CaseStatus.OPEN
    created_at: str
    queued_at: str
    # When a reviewer should have decided it: created_at plus the SLA of its tightest category (review.sla_hours).
    sla_due_at: str
    screeners: dict[Category, list[str]] = Field(default_factory=dict)
    claimed_by: str | None = None
    claimed_at: str | None = None
    # Escalated: back to `open` for a senior reviewer, with its priority raised (see docs/review.md).
    escalated: bool = False
    review_decision: ReviewDecision | None = None
    decided_by: str | None = None
    decided_at: str | None = None
    note: str | None = None


class ReviewerActionKind(StrEnum):
    CLAIM = "claim"
    CONFIRM = "confirm"
    DISMISS = "dismiss"
    ESCALATE = "escalate"
    SUSPEND = "suspend"
    REINSTATE = "reinstate"
    CLEAR_STRIKES = "clear_strikes"


class ReviewerAction(BaseModel):
    """One entry of the append-only reviewer action log: who did what to which case or user, when and why."""

    model_config = ConfigDict(frozen=True)

    action_id: str
    action: ReviewerActionKind
    reviewer: str
    at: str
    user_hash: str
    case_id: str | None = None
    reason: str | None = None


class CasePage(BaseModel):
    """One page of a case listing, in priority order; `cursor` fetches the next page (None: no more)."""

    cases: list[ReviewCase]
    cursor: str | None = None


class PriorityCaseNotice(BaseModel):
    """What the priority topic is told of a new child-safety case: references only, never content or user ids."""

    model_config = ConfigDict(frozen=True)

    case_id: str
    request_id: str
    tenant_id: str
    categories: list[Category]
    priority: int
    sla_due_at: str
