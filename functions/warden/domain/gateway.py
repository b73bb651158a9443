"""`POST /v1/messages`: validate → identity → user state → screen → Claude → screen the answer → audit → review.

Plain Python: every outside system arrives as a collaborator (see `warden.domain.ports`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from warden import __version__
from warden.config import Provider, RuntimeConfig
from warden.constants import HEADER_REQUEST_ID, HEADER_RETRY_AFTER, HEADER_WARNING
from warden.domain.identity import end_user_id, hash_user_id
from warden.domain.json_text import load_json, refuse_unpaired_surrogates
from warden.domain.ports import AuditStore, ClaudeClient, ReviewQueue, Screener, UserStore
from warden.domain.redaction import redact_record
from warden.domain.review import review_priority
from warden.domain.screening import ScreeningPolicy, enforced_decision, resolve_profile, screen_prompt
from warden.domain.strikes import StrikeLadder
from warden.errors import (
    DependencyUnavailableError,
    InvalidRequestError,
    PermissionDeniedError,
    RateLimitedError,
    RequestTooLargeError,
    StorageError,
    WardenError,
    error_type_of,
    http_status_of,
)
from warden.models import (
    ATTACHMENT_KINDS,
    MANY_IMAGES,
    MANY_IMAGES_SIDE,
    AuditRecord,
    ClaudeReply,
    Decision,
    MessagesRequest,
    RecordedError,
    ReviewItem,
    ReviewSource,
    ScreeningOutcome,
    Tenant,
    UserStanding,
    UserStatus,
    UserTurn,
    completion_text,
    end_user_turns,
    inline_image_size,
    turns_text,
    unscreened_content,
)

logger = logging.getLogger(__name__)


@dataclass
class GatewayDeps:
    config: RuntimeConfig
    user_hash_key: bytes
    users: UserStore
    screeners: Sequence[Screener]
    claude: ClaudeClient
    audit: AuditStore
    review: ReviewQueue
    provider_label: str
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    # Runs the screeners that call out concurrently; None runs them one after another.
    executor: Executor | None = None
    # The screeners of Claude's answers (output screening), when they differ from the prompt screeners.
    output_screeners: Sequence[Screener] | None = None
    # The fast tier's calibrated confident score, unless the configuration sets one.
    fast_tier_confident: float = 0.9
    # Told of every record once it is stored (the handler counts decisions and screener failures as metrics).
    record_observer: Callable[[AuditRecord], None] | None = None


@dataclass(frozen=True)
class MessagesResult:
    body: dict[str, Any]
    headers: dict[str, str]


def _format_validation_error(error: ValidationError) -> str:
    problems = []
    for item in error.errors()[:5]:
        location = ".".join(str(part) for part in item["loc"]) or "body"
        problems.append(f"{location}: {item['msg']}")
    return "; ".join(problems)


def parse_messages_request(raw_body: bytes, config: RuntimeConfig) -> tuple[MessagesRequest, dict[str, Any]]:
    """Validate the body against the Messages shape and the deployment's limits."""
    limits = config.limits
    if len(raw_body) > limits.max_body_bytes:
        raise RequestTooLargeError(
            f"request body is {len(raw_body)} bytes; this gateway accepts at most {limits.max_body_bytes}"
        )
    if not raw_body.strip():
        raise InvalidRequestError("request body is empty; send a JSON Messages request")
    try:
        payload = load_json(raw_body)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidRequestError(f"request body is not valid JSON: {error}") from error
    if not isinstance(payload, dict):
        raise InvalidRequestError("request body must be a JSON object")
    refuse_unpaired_surrogates(raw_body, payload)
    try:
        request = MessagesRequest.model_validate(payload)
    except ValidationError as error:
        raise InvalidRequestError(_format_validation_error(error)) from error
    if request.stream:
        raise InvalidRequestError("streaming is not yet supported by this gateway; send the request without stream")
    if request.model not in config.models.allowed:
        allowed = ", ".join(config.models.allowed)
        raise InvalidRequestError(f"model: '{request.model}' is not enabled on this gateway; use one of: {allowed}")
    if request.max_tokens > limits.max_tokens:
        raise InvalidRequestError(
            f"max_tokens: {request.max_tokens} exceeds this gateway's limit of {limits.max_tokens}"
        )
    if len(request.messages) > limits.max_messages:
        raise InvalidRequestError(
            f"messages: {len(request.messages)} messages exceed this gateway's limit of {limits.max_messages}"
        )
    if request.messages[0].role != "user":
        raise InvalidRequestError("messages: the first message must use the 'user' role")
    if config.provider is Provider.BEDROCK:
        _refuse_attachments_by_url(request)
    _refuse_large_images_among_many(request)
    return request, payload


def _refuse_large_images_among_many(request: MessagesRequest) -> None:
    """In a request of more than `MANY_IMAGES` images, Claude takes at most `MANY_IMAGES_SIDE` pixels on a side:
    a larger one would fail the moderator's call (and the fail mode would answer) before Claude's 400."""
    images = [
        (number, index, block)
        for number, message in enumerate(request.messages)
        for index, block in enumerate(message.content if isinstance(message.content, list) else [])
        if block["type"] == "image"
    ]
    if len(images) <= MANY_IMAGES:
        return
    for number, index, block in images:
        size = inline_image_size(block)
        if size and max(size) > MANY_IMAGES_SIDE:
            raise InvalidRequestError(
                f"messages.{number}.content.{index}: the image is {size[0]}x{size[1]} pixels; in a request of more "
                f"than {MANY_IMAGES} images Claude takes at most {MANY_IMAGES_SIDE} on a side"
            )


def _refuse_attachments_by_url(request: MessagesRequest) -> None:
    """Bedrock takes images and documents inline only: one by URL would fail the moderator's call (and the fail
    mode would answer) and then Claude's, so the app gets Claude's kind of answer, a 400, before either."""
    for number, message in enumerate(request.messages):
        for index, block in enumerate(message.content if isinstance(message.content, list) else []):
            source = block.get("source")
            if block["type"] in ATTACHMENT_KINDS and isinstance(source, dict) and source.get("type") == "url":
                raise InvalidRequestError(
                    f"messages.{number}.content.{index}: this gateway calls Claude on Amazon Bedrock, which takes "
                    f"{block['type']}s inline only; send the {block['type']} as base64 data, not by URL"
                )


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _warden_info(
    request_id: str,
    decision: Decision,
    categories: Sequence[str],
    status: UserStatus,
    source: ReviewSource | None = None,
) -> dict[str, Any]:
    info = {"request_id": request_id, "decision": decision.value, "categories": list(categories), "user_status": status}
    if source is not None:
        info["source"] = source.value
    return info


def _screen(
    text: str,
    policy: ScreeningPolicy,
    deps: GatewayDeps,
    tenant: Tenant,
    screeners: Sequence[Screener] | None = None,
    turns: Sequence[UserTurn] = (),
) -> ScreeningOutcome:
    outcome = screen_prompt(
        text,
        deps.screeners if screeners is None else screeners,
        policy.categories,
        tenant.fail_mode or deps.config.fail_mode,
        skip_rest_on_block=deps.config.screening.skip_moderator_on_fast_block,
        executor=deps.executor,
        confident=deps.config.screening.fast_tier_confident or deps.fast_tier_confident,
        turns=turns,
    )
    return outcome.model_copy(update={"profile": policy.profile, "shadow": policy.shadow})


def _screen_request(
    request: MessagesRequest, policy: ScreeningPolicy, deps: GatewayDeps, tenant: Tenant
) -> ScreeningOutcome:
    """Screen the end user's turns: their text for every screener, turn by turn for those that read conversations."""
    turns = end_user_turns(request)
    return _screen(turns_text(turns), policy, deps, tenant, turns=turns)


def _read_attachments(outcome: ScreeningOutcome) -> int:
    """The most of the end user's attachments one screener read."""
    return max((verdict.attachments for verdict in outcome.verdicts if verdict.ran), default=0)


class _Request:
    """What one request accumulates on its way through the pipeline."""

    def __init__(self, request_id: str, tenant: Tenant, deps: GatewayDeps):
        self.request_id = request_id
        self.tenant = tenant
        self.tenant_id = tenant.tenant_id
        self.deps = deps
        self.ladder = StrikeLadder(tenant.strike_ladder or deps.config.strike_ladder)
        self.received = deps.clock()
        self.started = time.perf_counter()
        self.notes: list[str] = []

    def elapsed_ms(self) -> float:
        return round((time.perf_counter() - self.started) * 1000, 3)

    def record(
        self,
        request: MessagesRequest,
        payload: dict[str, Any],
        user_hash: str,
        outcome: ScreeningOutcome,
        decision: Decision,
        standing: UserStanding,
        reply: ClaudeReply | None = None,
        error: WardenError | None = None,
        provider_model_id: str | None = None,
        output: ScreeningOutcome | None = None,
    ) -> AuditRecord:
        passthrough = {k: v for k, v in payload.items() if k not in ("messages", "system", "metadata", "model")}
        latency = {"total": self.elapsed_ms(), "screening": outcome.latency_ms}
        if reply is not None:
            latency["claude"] = reply.latency_ms
        if output is not None:
            latency["output_screening"] = output.latency_ms
        return AuditRecord(
            request_id=self.request_id,
            received_at=_iso(self.received),
            completed_at=_iso(self.deps.clock()),
            tenant_id=self.tenant_id,
            user_hash=user_hash,
            provider=self.deps.provider_label,
            model=request.model,
            provider_model_id=reply.provider_model_id if reply else provider_model_id,
            system=request.system,
            messages=payload["messages"],
            request_params=passthrough,
            screening=outcome,
            output_screening=output,
            decision=decision,
            user_status=standing.status,
            completion=reply.completion() if reply else None,
            claude_message_id=reply.body.get("id") if reply else None,
            error=RecordedError(status=http_status_of(error), type=error_type_of(error), message=error.message)
            if error
            else None,
            latency_ms=latency,
            # What the user turns gave Claude that no screener read (images and PDFs when the moderator did not
            # read them), whatever was decided.
            notes=[*filter(None, [unscreened_content(request, _read_attachments(outcome))]), *self.notes],
            warden_version=__version__,
        )

    def write_audit(self, record: AuditRecord) -> str:
        """Store the record, with the personal data the tenant (or deployment) redacts replaced."""
        redaction = self.tenant.redaction if self.tenant.redaction is not None else self.deps.config.redaction
        record = redact_record(record, redaction)
        try:
            key = self.deps.audit.write(record)
        except StorageError as error:
            raise DependencyUnavailableError(
                "the audit store is unavailable, so the request cannot be recorded; retry later",
                headers={HEADER_REQUEST_ID: self.request_id},
            ) from error
        if self.deps.record_observer is not None:
            self.deps.record_observer(record)
        return key

    def send_to_review(
        self, record: AuditRecord, s3_key: str, source: ReviewSource, outcome: ScreeningOutcome, decision: Decision
    ) -> None:
        """Queue one review item for what screening `source` found; `decision` is what Warden did about it."""
        categories = outcome.categories
        item = ReviewItem(
            request_id=self.request_id,
            tenant_id=self.tenant_id,
            user_hash=record.user_hash,
            categories=categories,
            decision=decision,
            source=source,
            s3_key=s3_key,
            priority=review_priority(categories, decision),
            created_at=record.completed_at,
            screeners=outcome.deciding_screeners,
        )
        try:
            self.deps.review.enqueue(item)
        except StorageError as error:
            # The audit record (decision flagged/blocked) is already stored, so the item can be rebuilt from it.
            logger.error("review item not queued", extra={"warden_request_id": self.request_id, "error": str(error)})


def serve_messages(
    raw_body: bytes, tenant: Tenant, request_id: str, deps: GatewayDeps, verified_subject: str | None = None
) -> MessagesResult:
    """Handle one Messages request for `tenant` (with its settings); raise `WardenError` for every refusal.

    `verified_subject` is the end user's verified token subject (JWT tenants), from the authorizer.
    """
    tenant_id = tenant.tenant_id
    flow = _Request(request_id, tenant, deps)
    base_headers = {HEADER_REQUEST_ID: request_id}
    try:
        request, payload = parse_messages_request(raw_body, deps.config)
        user_id = end_user_id(tenant, request.metadata.user_id if request.metadata else None, verified_subject)
    except WardenError as error:
        error.headers.update(base_headers)
        raise

    user_hash = hash_user_id(deps.user_hash_key, tenant_id, user_id)
    policy = resolve_profile(deps.config.screening, tenant.profile)

    try:
        standing = deps.users.record_request(user_hash, tenant_id, flow.received, flow.ladder)
    except StorageError as error:
        raise DependencyUnavailableError("user state is unavailable; retry later", headers=base_headers) from error

    # A suspension stands in shadow mode too: shadow mode changes what screening does, not the user's standing.
    if standing.status is UserStatus.SUSPENDED:
        outcome = ScreeningOutcome(decision=Decision.SUSPENDED, profile=policy.profile, shadow=policy.shadow)
        refusal = PermissionDeniedError(
            "this end user is suspended for repeated usage-policy violations",
            headers=base_headers,
            warden=_warden_info(request_id, Decision.SUSPENDED, [], standing.status),
        )
        flow.write_audit(flow.record(request, payload, user_hash, outcome, Decision.SUSPENDED, standing, error=refusal))
        raise refusal
    _admit(flow, user_hash, standing)

    outcome = _screen_request(request, policy, deps, tenant)
    decision = enforced_decision(outcome.decision, policy.shadow)

    if decision is Decision.BLOCKED:
        return _refuse_blocked(flow, request, payload, user_hash, outcome, standing)
    if decision is Decision.UNAVAILABLE:
        unavailable = _screening_unavailable(flow, outcome, standing, ReviewSource.INPUT)
        flow.write_audit(
            flow.record(request, payload, user_hash, outcome, Decision.UNAVAILABLE, standing, error=unavailable)
        )
        raise unavailable

    body = dict(payload)
    body["metadata"] = {"user_id": user_hash}
    try:
        reply = deps.claude.create_message(body)
    except WardenError as error:
        error.headers.update(base_headers)
        flow.write_audit(flow.record(request, payload, user_hash, outcome, decision, standing, error=error))
        raise

    output = _screen_answer(reply, policy, deps, tenant) if policy.output_screening else None
    output_decision = enforced_decision(output.decision, policy.shadow) if output else Decision.ALLOWED
    if output is not None and output_decision in (Decision.BLOCKED, Decision.UNAVAILABLE):
        return _withhold_answer(flow, request, payload, user_hash, outcome, decision, output, standing, reply)

    served = Decision.FLAGGED if Decision.FLAGGED in (decision, output_decision) else Decision.ALLOWED
    record = flow.record(request, payload, user_hash, outcome, served, standing, reply=reply, output=output)
    s3_key = flow.write_audit(record)
    if decision is Decision.FLAGGED:
        flow.send_to_review(record, s3_key, ReviewSource.INPUT, outcome, Decision.FLAGGED)
    if output is not None and output_decision is Decision.FLAGGED:
        flow.send_to_review(record, s3_key, ReviewSource.OUTPUT, output, Decision.FLAGGED)

    headers = dict(base_headers)
    if standing.warning:
        headers[HEADER_WARNING] = standing.warning
    return MessagesResult(body=reply.body, headers=headers)


def _admit(flow: _Request, user_hash: str, standing: UserStanding) -> None:
    """The gates before screening, after suspension: policy acceptance, then a throttled user's rate."""
    _require_policy_acceptance(flow, standing)
    if standing.status is UserStatus.THROTTLED:
        _take_token(flow, user_hash, standing)


def _require_policy_acceptance(flow: _Request, standing: UserStanding) -> None:
    """Tenants that require it serve only end users who accepted the current usage-policy version."""
    policy = flow.deps.config.usage_policy
    if not flow.tenant.require_policy_acceptance or standing.policy_version_accepted == policy.version:
        return
    accepted = standing.policy_version_accepted
    raise PermissionDeniedError(
        f"before using this service, please read and accept the usage policy (version {policy.version}): "
        f"{policy.url}" + (f" (you accepted version {accepted}, which has since changed)" if accepted else ""),
        headers={HEADER_REQUEST_ID: flow.request_id},
        warden={
            **_warden_info(flow.request_id, Decision.POLICY_NOT_ACCEPTED, [], standing.status),
            "policy": {"required_version": policy.version, "url": policy.url, "accepted_version": accepted},
        },
    )


def _take_token(flow: _Request, user_hash: str, standing: UserStanding) -> None:
    """A throttled user is held to the ladder's rate; over it, 429 with when to retry."""
    throttle = flow.ladder.config.throttle
    try:
        decision = flow.deps.users.take_token(user_hash, standing, throttle, flow.received)
    except StorageError as error:
        raise DependencyUnavailableError(
            "user state is unavailable; retry later", headers={HEADER_REQUEST_ID: flow.request_id}
        ) from error
    if decision.allowed:
        return
    headers = {HEADER_REQUEST_ID: flow.request_id, HEADER_RETRY_AFTER: str(decision.retry_after)}
    if standing.warning:
        headers[HEADER_WARNING] = standing.warning
    raise RateLimitedError(
        f"this end user is throttled for repeated usage-policy violations: at most {throttle.requests} request(s) "
        f"per {throttle.per_seconds} s; retry after {decision.retry_after} s",
        headers=headers,
        warden={
            **_warden_info(flow.request_id, Decision.RATE_LIMITED, [], standing.status),
            "throttle": {
                "requests": throttle.requests,
                "per_seconds": throttle.per_seconds,
                "until": standing.status_until,
                "retry_after": decision.retry_after,
            },
        },
    )


def _screen_answer(reply: ClaudeReply, policy: ScreeningPolicy, deps: GatewayDeps, tenant: Tenant) -> ScreeningOutcome:
    answer = completion_text(reply.body)
    if not answer:
        # Only tool calls, no text: nothing to screen, and a paid call on nothing would be waste.
        return ScreeningOutcome(decision=Decision.ALLOWED, profile=policy.profile, shadow=policy.shadow)
    return _screen(answer, policy, deps, tenant, deps.output_screeners)


def _screening_unavailable(
    flow: _Request, outcome: ScreeningOutcome, standing: UserStanding, source: ReviewSource
) -> DependencyUnavailableError:
    what = "screening" if source is ReviewSource.INPUT else "screening of Claude's answer"
    return DependencyUnavailableError(
        f"{what} is unavailable ({', '.join(outcome.unchecked)} failed) and this gateway fails closed; retry later",
        headers={HEADER_REQUEST_ID: flow.request_id},
        warden=_warden_info(
            flow.request_id,
            Decision.UNAVAILABLE,
            [],
            standing.status,
            source if source is ReviewSource.OUTPUT else None,
        ),
    )


def _add_strike(flow: _Request, user_hash: str, outcome: ScreeningOutcome, standing: UserStanding) -> UserStanding:
    try:
        return flow.deps.users.add_strike(
            user_hash, flow.tenant_id, flow.request_id, outcome.blocked_categories, flow.received, flow.ladder
        )
    except StorageError as error:
        flow.notes.append(f"strike not recorded: {error}")
        return standing


def _blocked_refusal(
    flow: _Request, outcome: ScreeningOutcome, standing: UserStanding, source: ReviewSource
) -> PermissionDeniedError:
    categories = [category.value for category in outcome.categories]
    screened = "usage-policy screen" if source is ReviewSource.INPUT else "usage-policy screen of Claude's answer"
    refusal = PermissionDeniedError(
        f"this request was blocked by the {screened} (" + ", ".join(categories) + ")",
        headers={HEADER_REQUEST_ID: flow.request_id},
        warden=_warden_info(flow.request_id, Decision.BLOCKED, categories, standing.status, source),
    )
    if standing.warning:
        refusal.headers[HEADER_WARNING] = standing.warning
    return refusal


def _refuse_blocked(
    flow: _Request,
    request: MessagesRequest,
    payload: dict[str, Any],
    user_hash: str,
    outcome: ScreeningOutcome,
    standing: UserStanding,
) -> MessagesResult:
    standing = _add_strike(flow, user_hash, outcome, standing)
    refusal = _blocked_refusal(flow, outcome, standing, ReviewSource.INPUT)
    record = flow.record(request, payload, user_hash, outcome, Decision.BLOCKED, standing, error=refusal)
    s3_key = flow.write_audit(record)
    flow.send_to_review(record, s3_key, ReviewSource.INPUT, outcome, Decision.BLOCKED)
    raise refusal


def _withhold_answer(
    flow: _Request,
    request: MessagesRequest,
    payload: dict[str, Any],
    user_hash: str,
    outcome: ScreeningOutcome,
    input_decision: Decision,
    output: ScreeningOutcome,
    standing: UserStanding,
    reply: ClaudeReply,
) -> MessagesResult:
    """Claude's answer was blocked (or could not be screened, failing closed): keep it in the record, not the reply."""
    refusal: WardenError
    if output.decision is Decision.BLOCKED:
        standing = _add_strike(flow, user_hash, output, standing)
        refusal = _blocked_refusal(flow, output, standing, ReviewSource.OUTPUT)
    else:
        refusal = _screening_unavailable(flow, output, standing, ReviewSource.OUTPUT)
    record = flow.record(
        request, payload, user_hash, outcome, output.decision, standing, reply=reply, error=refusal, output=output
    )
    s3_key = flow.write_audit(record)
    if input_decision is Decision.FLAGGED:
        flow.send_to_review(record, s3_key, ReviewSource.INPUT, outcome, Decision.FLAGGED)
    if output.decision is Decision.BLOCKED:
        flow.send_to_review(record, s3_key, ReviewSource.OUTPUT, output, Decision.BLOCKED)
    raise refusal
