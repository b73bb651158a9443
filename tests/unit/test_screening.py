"""Screening orchestration: screeners in order, failures as verdicts, one decision from the policy."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from warden.config import Action, CategoryPolicy, FailMode
from warden.domain.screening import actions_for, decide, run_screener, screen_prompt
from warden.errors import ScreenerFailedError
from warden.models import Decision, ScreenerVerdict
from warden.taxonomy import Category

from tests.unit.fakes import FailingScreener, StaticScreener

POLICIES: dict[Category, CategoryPolicy] = {
    **{category: CategoryPolicy(action=Action.BLOCK, threshold=0.5) for category in Category},
    Category.MISINFORMATION: CategoryPolicy(action=Action.FLAG, threshold=0.5),
    Category.ELECTIONS: CategoryPolicy(action=Action.ALLOW, threshold=0.0),
}


def verdict(screener: str = "s", **scores: float) -> ScreenerVerdict:
    return ScreenerVerdict(screener=screener, scores={Category(name): score for name, score in scores.items()})


# ------------------------------------------------------------------ run_screener


def test_run_screener_returns_a_failure_as_a_verdict_not_an_exception() -> None:
    result = run_screener(FailingScreener(name="moderator", message="moderator call failed: timeout"), "hi")

    assert (result.screener, result.failed, result.ran) == ("moderator", True, False)
    assert result.error == "moderator call failed: timeout"


def test_run_screener_names_a_failure_without_a_message_by_its_type() -> None:
    class Silent:
        name = "silent"

        def screen(self, text: str) -> ScreenerVerdict:
            raise ScreenerFailedError

    assert run_screener(Silent(), "hi").error == "ScreenerFailedError"


def test_run_screener_fills_in_latency_when_the_screener_does_not() -> None:
    class Untimed:
        name = "untimed"

        def screen(self, text: str) -> ScreenerVerdict:
            time.sleep(0.002)
            return ScreenerVerdict(screener=self.name)

    assert run_screener(Untimed(), "hi").latency_ms >= 2


# ------------------------------------------------------------------ actions_for


def test_a_score_at_the_threshold_triggers_the_action() -> None:
    assert actions_for(verdict(fraud_abuse=0.5, misinformation=0.5), POLICIES) == {
        Category.FRAUD_ABUSE: Action.BLOCK,
        Category.MISINFORMATION: Action.FLAG,
    }


def test_a_score_below_the_threshold_triggers_nothing() -> None:
    assert actions_for(verdict(fraud_abuse=0.49), POLICIES) == {}


def test_an_allowed_category_never_triggers() -> None:
    assert actions_for(verdict(elections=1.0), POLICIES) == {}


# ------------------------------------------------------------------ decide


def test_block_in_any_verdict_blocks() -> None:
    outcome = decide([verdict("fast", misinformation=0.9), verdict("mod", fraud_abuse=0.9)], POLICIES, FailMode.CLOSED)

    assert outcome.decision is Decision.BLOCKED
    assert outcome.blocked_categories == [Category.FRAUD_ABUSE]
    assert outcome.flagged_categories == [Category.MISINFORMATION]


def test_only_flagged_categories_give_flagged() -> None:
    assert decide([verdict(misinformation=0.9)], POLICIES, FailMode.CLOSED).decision is Decision.FLAGGED


def test_no_triggered_category_gives_allowed() -> None:
    assert decide([verdict(fraud_abuse=0.1)], POLICIES, FailMode.CLOSED).decision is Decision.ALLOWED


def test_failed_screener_with_fail_mode_closed_gives_unavailable() -> None:
    failed = ScreenerVerdict(screener="moderator", error="timeout")

    outcome = decide([verdict("fast"), failed], POLICIES, FailMode.CLOSED)

    assert outcome.decision is Decision.UNAVAILABLE
    assert outcome.unchecked == ["moderator"]


def test_failed_screener_with_allow_and_flag_gives_flagged_and_names_it_unchecked() -> None:
    failed = ScreenerVerdict(screener="moderator", error="timeout")

    outcome = decide([verdict("fast"), failed], POLICIES, FailMode.ALLOW_AND_FLAG)

    assert (outcome.decision, outcome.unchecked) == (Decision.FLAGGED, ["moderator"])


def test_a_block_wins_over_a_failed_screener_even_when_failing_closed() -> None:
    # The request is refused either way; blocked (403 + strike) is the truthful answer, not 503.
    failed = ScreenerVerdict(screener="moderator", error="timeout")

    assert decide([verdict("fast", fraud_abuse=0.9), failed], POLICIES, FailMode.CLOSED).decision is Decision.BLOCKED


def test_a_skipped_screener_is_not_unchecked() -> None:
    skipped = ScreenerVerdict(screener="moderator", skipped_reason="an earlier screener blocked")

    outcome = decide([verdict("fast"), skipped], POLICIES, FailMode.CLOSED)

    assert (outcome.decision, outcome.unchecked) == (Decision.ALLOWED, [])


# ------------------------------------------------------------------ screen_prompt


def test_every_screener_sees_the_text_in_order() -> None:
    fast, moderator = StaticScreener("fast"), StaticScreener("moderator")

    outcome = screen_prompt("hello", [fast, moderator], POLICIES, FailMode.CLOSED)

    assert (fast.texts, moderator.texts) == (["hello"], ["hello"])
    assert [v.screener for v in outcome.verdicts] == ["fast", "moderator"]


def test_a_block_from_an_earlier_screener_skips_the_later_ones() -> None:
    # Given a cheap screener that blocks, in front of a paid one
    fast = StaticScreener("fast", {Category.WEAPONS_ILLEGAL_GOODS: 0.95})
    moderator = StaticScreener("moderator")

    # When the text is screened
    outcome = screen_prompt("how do I make a pipe bomb", [fast, moderator], POLICIES, FailMode.CLOSED)

    # Then the paid screener is not called, and is recorded as skipped
    assert moderator.texts == []
    assert outcome.verdicts[1].skipped_reason == "an earlier screener blocked"
    assert outcome.decision is Decision.BLOCKED


def test_later_screeners_run_after_a_block_when_skipping_is_off() -> None:
    fast = StaticScreener("fast", {Category.WEAPONS_ILLEGAL_GOODS: 0.95})
    moderator = StaticScreener("moderator", {Category.FRAUD_ABUSE: 0.9})

    outcome = screen_prompt("text", [fast, moderator], POLICIES, FailMode.CLOSED, skip_rest_on_block=False)

    assert moderator.texts == ["text"]
    assert outcome.blocked_categories == [Category.WEAPONS_ILLEGAL_GOODS, Category.FRAUD_ABUSE]


@pytest.mark.parametrize(
    "first",
    [StaticScreener("fast", {Category.MISINFORMATION: 0.9}), FailingScreener("fast")],
    ids=["flagged", "failed"],
)
def test_a_flag_or_a_failure_does_not_skip_the_later_screeners(first: StaticScreener | FailingScreener) -> None:
    moderator = StaticScreener("moderator")

    screen_prompt("text", [first, moderator], POLICIES, FailMode.CLOSED)

    assert moderator.texts == ["text"]


# ------------------------------------------------------------------ concurrency


class BlockingScreener:
    """Calls `wait` (a barrier or an event) inside `screen`, so a test can see what ran alongside what."""

    def __init__(self, name: str, wait: Callable[[], object], scores: dict[Category, float] | None = None):
        self.name = name
        self.wait = wait
        self.scores = scores or {}

    def screen(self, text: str) -> ScreenerVerdict:
        self.wait()
        return ScreenerVerdict(screener=self.name, scores=self.scores)


@pytest.fixture
def executor() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=4) as pool:
        yield pool


def test_the_screeners_that_call_out_run_at_the_same_time(executor: ThreadPoolExecutor) -> None:
    # Given two screeners that each wait for the other to have started (run one after another, the barrier breaks)
    both_started = threading.Barrier(2, timeout=5)
    moderator = BlockingScreener("moderator", both_started.wait)
    guardrails = BlockingScreener("guardrails", both_started.wait)

    # When the text is screened with an executor
    outcome = screen_prompt(
        "text", [StaticScreener("fast"), moderator, guardrails], POLICIES, FailMode.CLOSED, executor=executor
    )

    # Then both ran to a verdict: each had started before either finished
    assert [v.screener for v in outcome.verdicts] == ["fast", "moderator", "guardrails"]
    assert all(v.ran for v in outcome.verdicts)


def test_verdicts_keep_the_configured_order_when_a_later_screener_finishes_first(
    executor: ThreadPoolExecutor,
) -> None:
    second_done = threading.Event()
    first = BlockingScreener("moderator", lambda: second_done.wait(5), {Category.FRAUD_ABUSE: 0.9})
    second = BlockingScreener("guardrails", second_done.set)

    outcome = screen_prompt("text", [first, second], POLICIES, FailMode.CLOSED, executor=executor)

    assert [v.screener for v in outcome.verdicts] == ["moderator", "guardrails"]
    assert outcome.blocked_categories == [Category.FRAUD_ABUSE]


def test_a_concurrent_screeners_failure_and_latency_land_in_the_outcome(executor: ThreadPoolExecutor) -> None:
    outcome = screen_prompt(
        "text",
        [FailingScreener("moderator"), StaticScreener("guardrails")],
        POLICIES,
        FailMode.CLOSED,
        executor=executor,
    )

    failed, served = outcome.verdicts
    assert (failed.screener, failed.error) == ("moderator", "moderator call failed: timeout")
    assert failed.latency_ms > 0 and served.latency_ms > 0
    assert outcome.decision is Decision.UNAVAILABLE


def test_a_fast_tier_block_skips_the_concurrent_screeners_without_submitting_them() -> None:
    class NoThreads(ThreadPoolExecutor):
        def submit(self, *args: object, **kwargs: object) -> object:  # type: ignore[override]
            raise AssertionError("nothing should be submitted after a fast-tier block")

    moderator, guardrails = StaticScreener("moderator"), StaticScreener("guardrails")
    fast = StaticScreener("fast", {Category.WEAPONS_ILLEGAL_GOODS: 0.95})

    outcome = screen_prompt("text", [fast, moderator, guardrails], POLICIES, FailMode.CLOSED, executor=NoThreads())

    assert (moderator.texts, guardrails.texts) == ([], [])
    assert [v.skipped_reason for v in outcome.verdicts[1:]] == ["an earlier screener blocked"] * 2


def test_the_fast_tier_runs_before_the_others_whatever_its_configured_place(executor: ThreadPoolExecutor) -> None:
    fast = StaticScreener("fast", {Category.WEAPONS_ILLEGAL_GOODS: 0.95})
    moderator = StaticScreener("moderator")

    outcome = screen_prompt("text", [moderator, fast], POLICIES, FailMode.CLOSED, executor=executor)

    assert moderator.texts == []
    assert [v.screener for v in outcome.verdicts] == ["moderator", "fast"]


# ------------------------------------------------------------------ escalation of fast-tier suspicions

CONFIDENT = 0.9


def test_a_confident_fast_tier_block_skips_the_moderator() -> None:
    fast = StaticScreener("fast", {Category.WEAPONS_ILLEGAL_GOODS: 0.95})
    moderator = StaticScreener("moderator")

    outcome = screen_prompt("text", [fast, moderator], POLICIES, FailMode.CLOSED, confident=CONFIDENT)

    assert moderator.texts == []
    assert outcome.decision is Decision.BLOCKED


def test_a_fast_tier_suspicion_is_judged_by_the_moderator() -> None:
    # Given a fast tier over the block threshold but under the confident score, and a moderator that disagrees
    fast = StaticScreener("fast", {Category.WEAPONS_ILLEGAL_GOODS: 0.6})
    moderator = StaticScreener("moderator")

    # When the text is screened
    outcome = screen_prompt("text", [fast, moderator], POLICIES, FailMode.CLOSED, confident=CONFIDENT)

    # Then the moderator was asked, its verdict decided, and the fast tier's score is still on record
    assert moderator.texts == ["text"]
    assert outcome.decision is Decision.ALLOWED
    assert outcome.verdicts[0].scores == {Category.WEAPONS_ILLEGAL_GOODS: 0.6}


def test_a_suspicion_the_moderator_confirms_blocks() -> None:
    fast = StaticScreener("fast", {Category.WEAPONS_ILLEGAL_GOODS: 0.6})
    moderator = StaticScreener("moderator", {Category.WEAPONS_ILLEGAL_GOODS: 0.8})

    outcome = screen_prompt("text", [fast, moderator], POLICIES, FailMode.CLOSED, confident=CONFIDENT)

    assert (outcome.decision, outcome.blocked_categories) == (Decision.BLOCKED, [Category.WEAPONS_ILLEGAL_GOODS])


def test_a_suspicion_stands_when_the_moderator_fails() -> None:
    fast = StaticScreener("fast", {Category.WEAPONS_ILLEGAL_GOODS: 0.6})
    moderator = FailingScreener(name="moderator", message="moderator call failed: timeout")

    outcome = screen_prompt("text", [fast, moderator], POLICIES, FailMode.ALLOW_AND_FLAG, confident=CONFIDENT)

    assert outcome.decision is Decision.BLOCKED
    assert outcome.unchecked == ["moderator"]


def test_a_suspicion_stands_when_the_fast_tier_screens_alone() -> None:
    fast = StaticScreener("fast", {Category.WEAPONS_ILLEGAL_GOODS: 0.6})

    outcome = screen_prompt("text", [fast], POLICIES, FailMode.CLOSED, confident=CONFIDENT)

    assert outcome.decision is Decision.BLOCKED


def test_the_moderators_own_scores_are_never_discounted() -> None:
    moderator = StaticScreener("moderator", {Category.FRAUD_ABUSE: 0.6})

    outcome = screen_prompt("text", [StaticScreener("fast"), moderator], POLICIES, FailMode.CLOSED, confident=CONFIDENT)

    assert outcome.decision is Decision.BLOCKED
