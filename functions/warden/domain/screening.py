"""Screening orchestration: resolve the tenant's profile, run the screeners, turn their scores into one decision.

The offline fast tier runs first (sub-millisecond; a confident block there makes the paid calls pointless);
the screeners that call out (the Claude moderator, Bedrock Guardrails) do not depend on each other and run
concurrently on the executor the caller passes in, so screening takes as long as the slowest of them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass

from warden.config import DEFAULT_PROFILE, Action, CategoryPolicy, FailMode, ScreenerName, ScreeningConfig
from warden.domain.ports import Screener
from warden.errors import ScreenerFailedError
from warden.models import Decision, ScreenerVerdict, ScreeningOutcome, UserTurn
from warden.taxonomy import Category

logger = logging.getLogger(__name__)

# Screeners that make no network call: they run first, inline, before any paid one.
OFFLINE_SCREENERS = frozenset({ScreenerName.FAST.value})
SKIPPED_AFTER_BLOCK = "an earlier screener blocked"


@dataclass(frozen=True)
class ScreeningPolicy:
    """The screening settings one request gets: its tenant's profile laid over the defaults."""

    profile: str
    categories: Mapping[Category, CategoryPolicy]
    shadow: bool
    output_screening: bool


def resolve_profile(screening: ScreeningConfig, name: str | None) -> ScreeningPolicy:
    """The effective policy of a profile; an unknown profile gets the default one and a logged warning."""
    requested = name or DEFAULT_PROFILE
    profile = screening.profiles.get(requested)
    if profile is None:
        if requested != DEFAULT_PROFILE:
            logger.warning("unknown screening profile, using the default", extra={"profile": requested})
        return ScreeningPolicy(DEFAULT_PROFILE, screening.categories, screening.shadow, screening.output_screening)
    return ScreeningPolicy(
        profile=requested,
        categories={**screening.categories, **profile.categories},
        shadow=screening.shadow if profile.shadow is None else profile.shadow,
        output_screening=screening.output_screening if profile.output_screening is None else profile.output_screening,
    )


def enforced_decision(decision: Decision, shadow: bool) -> Decision:
    """What Warden does with a screening decision: in shadow mode, serve it, and send what was not clean to review."""
    if not shadow:
        return decision
    return Decision.ALLOWED if decision is Decision.ALLOWED else Decision.FLAGGED


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def run_screener(screener: Screener, text: str, turns: Sequence[UserTurn] = ()) -> ScreenerVerdict:
    """Run one screener, turning its failure into a verdict that says so. A screener that reads the conversation
    (a `ConversationScreener`) gets its `turns` (whose texts joined are `text`). The one exception it lets through
    is the request's own: an `InvalidRequestError` when Claude refuses the user's image or document in the
    moderator's call, as it would in the user's (the app gets that 400, not the fail mode's answer)."""
    started = time.perf_counter()
    try:
        # (A method lookup, not isinstance against the runtime-checkable Protocol: that costs some 16 µs a screener
        # a request, half of what the fast tier takes to screen a short prompt.)
        screen_turns = getattr(screener, "screen_turns", None) if turns else None
        verdict = screen_turns(turns) if screen_turns is not None else screener.screen(text)
    except ScreenerFailedError as error:
        return ScreenerVerdict(
            screener=screener.name, error=str(error) or type(error).__name__, latency_ms=_elapsed_ms(started)
        )
    if not verdict.latency_ms:
        verdict = verdict.model_copy(update={"latency_ms": _elapsed_ms(started)})
    return verdict


def actions_for(verdict: ScreenerVerdict, policies: Mapping[Category, CategoryPolicy]) -> dict[Category, Action]:
    """The action each category of one verdict triggers (only categories at or over their threshold)."""
    triggered: dict[Category, Action] = {}
    for category, score in verdict.scores.items():
        policy = policies[category]
        if score >= policy.threshold and policy.action is not Action.ALLOW:
            triggered[category] = policy.action
    return triggered


def _deciding(verdict: ScreenerVerdict, confident: float) -> ScreenerVerdict:
    """An offline verdict with only its confident scores: the rest were suspicions that a later screener judged."""
    scores = {category: score for category, score in verdict.scores.items() if score >= confident}
    return verdict.model_copy(update={"scores": scores})


def decide(
    verdicts: Sequence[ScreenerVerdict],
    policies: Mapping[Category, CategoryPolicy],
    fail_mode: FailMode,
    latency_ms: float = 0.0,
    confident: float | None = None,
) -> ScreeningOutcome:
    """One decision from every verdict: the strongest action any category reaches.

    With `confident`, an offline screener's scores under it count only when no online screener gave a
    verdict (when one failed or none is configured, the offline tier's suspicion stands on its own).
    """
    blocked: list[Category] = []
    flagged: list[Category] = []
    deciding: dict[Category, list[str]] = {}
    judged = confident is not None and any(v.ran and v.screener not in OFFLINE_SCREENERS for v in verdicts)
    for verdict in verdicts:
        if not verdict.ran:
            continue
        counted = verdict
        if judged and confident is not None and verdict.screener in OFFLINE_SCREENERS:
            counted = _deciding(verdict, confident)
        for category, action in actions_for(counted, policies).items():
            target = blocked if action is Action.BLOCK else flagged
            if category not in target:
                target.append(category)
            deciding.setdefault(category, []).append(verdict.screener)
    flagged = [category for category in flagged if category not in blocked]
    unchecked = [verdict.screener for verdict in verdicts if verdict.failed]

    if blocked:
        decision = Decision.BLOCKED
    elif unchecked and fail_mode is FailMode.CLOSED:
        decision = Decision.UNAVAILABLE
    elif flagged or unchecked:
        decision = Decision.FLAGGED
    else:
        decision = Decision.ALLOWED
    return ScreeningOutcome(
        decision=decision,
        blocked_categories=blocked,
        flagged_categories=flagged,
        verdicts=list(verdicts),
        unchecked=unchecked,
        deciding_screeners=deciding,
        latency_ms=latency_ms,
    )


def _blocks(
    verdict: ScreenerVerdict, policies: Mapping[Category, CategoryPolicy], confident: float | None = None
) -> bool:
    if not verdict.ran:
        return False
    if confident is not None:
        verdict = _deciding(verdict, confident)
    return Action.BLOCK in actions_for(verdict, policies).values()


def screen_prompt(
    text: str,
    screeners: Sequence[Screener],
    policies: Mapping[Category, CategoryPolicy],
    fail_mode: FailMode,
    *,
    skip_rest_on_block: bool = True,
    executor: Executor | None = None,
    confident: float | None = None,
    turns: Sequence[UserTurn] = (),
) -> ScreeningOutcome:
    """Screen text: offline screeners first, in order, then the others concurrently on `executor`. A screener that
    reads the conversation gets its `turns` (the text turn by turn, with the images and documents) instead.

    When an offline screener already blocks with a score of at least `confident` (any score, without it) and
    `skip_rest_on_block` is set, the others are recorded as skipped rather than called: the decision cannot
    change and the calls would cost money. A less confident offline block is left to the others to judge
    (see `decide`). Without an
    executor the others run one after another (same verdicts, summed latency). Verdicts keep the configured
    order whatever order they finish in.
    """
    started = time.perf_counter()
    verdicts: dict[int, ScreenerVerdict] = {}
    blocked = False
    for index, screener in enumerate(screeners):
        if screener.name not in OFFLINE_SCREENERS:
            continue
        if blocked and skip_rest_on_block:
            verdicts[index] = ScreenerVerdict(screener=screener.name, skipped_reason=SKIPPED_AFTER_BLOCK)
            continue
        verdicts[index] = run_screener(screener, text, turns)
        blocked = blocked or _blocks(verdicts[index], policies, confident)

    online = [index for index in range(len(screeners)) if index not in verdicts]
    if blocked and skip_rest_on_block:
        for index in online:
            verdicts[index] = ScreenerVerdict(screener=screeners[index].name, skipped_reason=SKIPPED_AFTER_BLOCK)
    elif executor is None or len(online) < 2:
        for index in online:
            verdicts[index] = run_screener(screeners[index], text, turns)
    else:
        pending: dict[int, Future[ScreenerVerdict]] = {
            index: executor.submit(run_screener, screeners[index], text, turns) for index in online
        }
        for index, future in pending.items():
            verdicts[index] = future.result()
    ordered = [verdicts[index] for index in range(len(screeners))]
    return decide(ordered, policies, fail_mode, latency_ms=_elapsed_ms(started), confident=confident)
