"""Screening orchestration: run screeners in order of cost, then turn their scores into one decision."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from warden.config import Action, CategoryPolicy, FailMode
from warden.domain.ports import Screener
from warden.errors import ScreenerFailedError
from warden.models import Decision, ScreenerVerdict, ScreeningOutcome
from warden.taxonomy import Category


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def run_screener(screener: Screener, text: str) -> ScreenerVerdict:
    """Run one screener, turning its failure into a verdict that says so (never an exception)."""
    started = time.perf_counter()
    try:
        verdict = screener.screen(text)
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


def decide(
    verdicts: Sequence[ScreenerVerdict],
    policies: Mapping[Category, CategoryPolicy],
    fail_mode: FailMode,
    latency_ms: float = 0.0,
) -> ScreeningOutcome:
    blocked: list[Category] = []
    flagged: list[Category] = []
    for verdict in verdicts:
        if not verdict.ran:
            continue
        for category, action in actions_for(verdict, policies).items():
            target = blocked if action is Action.BLOCK else flagged
            if category not in target:
                target.append(category)
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
        latency_ms=latency_ms,
    )


def screen_prompt(
    text: str,
    screeners: Sequence[Screener],
    policies: Mapping[Category, CategoryPolicy],
    fail_mode: FailMode,
    *,
    skip_rest_on_block: bool = True,
) -> ScreeningOutcome:
    """Screen the end user's text with each screener in order of cost.

    When an earlier (cheaper) screener already blocks and `skip_rest_on_block` is set, later screeners are
    recorded as skipped rather than called: the decision cannot change and the call would cost money.
    """
    started = time.perf_counter()
    verdicts: list[ScreenerVerdict] = []
    already_blocked = False
    for screener in screeners:
        if already_blocked and skip_rest_on_block:
            verdicts.append(ScreenerVerdict(screener=screener.name, skipped_reason="an earlier screener blocked"))
            continue
        verdict = run_screener(screener, text)
        verdicts.append(verdict)
        if verdict.ran and Action.BLOCK in actions_for(verdict, policies).values():
            already_blocked = True
    return decide(verdicts, policies, fail_mode, latency_ms=_elapsed_ms(started))
