"""The throttle's token bucket: refill, admission, and when to retry (clock passed in, no sleeping)."""

from __future__ import annotations

import pytest
from warden.config import ThrottleConfig
from warden.domain.throttle import take_token, tokens_now
from warden.models import RateBucket

FIVE_A_MINUTE = ThrottleConfig(requests=5, per_seconds=60, duration_hours=24)
NOW_MS = 1_750_000_000_000


def test_a_user_without_a_bucket_starts_full_and_takes_one() -> None:
    decision = take_token(None, FIVE_A_MINUTE, NOW_MS)

    assert decision.allowed
    assert decision.bucket == RateBucket(tokens=4.0, at_ms=NOW_MS, sequence=1)
    assert decision.retry_after is None


def test_the_burst_is_the_rate_then_requests_are_refused() -> None:
    bucket = None
    admitted = 0
    for _ in range(8):
        decision = take_token(bucket, FIVE_A_MINUTE, NOW_MS)
        if decision.allowed:
            admitted += 1
            bucket = decision.bucket

    assert admitted == 5


def test_a_refusal_leaves_the_bucket_as_it_was() -> None:
    empty = RateBucket(tokens=0.0, at_ms=NOW_MS, sequence=7)

    decision = take_token(empty, FIVE_A_MINUTE, NOW_MS)

    assert not decision.allowed
    assert decision.bucket == empty


def test_tokens_refill_at_the_rate() -> None:
    empty = RateBucket(tokens=0.0, at_ms=NOW_MS, sequence=1)

    assert tokens_now(empty, FIVE_A_MINUTE, NOW_MS + 12_000) == pytest.approx(1.0)
    assert tokens_now(empty, FIVE_A_MINUTE, NOW_MS + 6_000) == pytest.approx(0.5)


def test_refill_never_exceeds_the_burst() -> None:
    stale = RateBucket(tokens=2.0, at_ms=NOW_MS - 86_400_000, sequence=3)

    assert tokens_now(stale, FIVE_A_MINUTE, NOW_MS) == 5.0


def test_a_clock_that_steps_back_refills_nothing() -> None:
    bucket = RateBucket(tokens=0.25, at_ms=NOW_MS, sequence=3)

    assert tokens_now(bucket, FIVE_A_MINUTE, NOW_MS - 30_000) == 0.25


def test_one_token_every_twelve_seconds_after_the_burst() -> None:
    empty = RateBucket(tokens=0.0, at_ms=NOW_MS, sequence=1)

    assert not take_token(empty, FIVE_A_MINUTE, NOW_MS + 11_999).allowed
    assert take_token(empty, FIVE_A_MINUTE, NOW_MS + 12_000).allowed


@pytest.mark.parametrize(
    ("tokens", "retry_after"),
    [
        (0.0, 12),  # a whole token: 12 s
        (0.5, 6),  # half a token: 6 s
        (0.99, 1),  # 0.12 s rounds up to 1, never 0
        (0.9, 2),  # 1.2 s rounds up to 2: never tell the client to come back too early
    ],
)
def test_retry_after_is_rounded_up_to_whole_seconds(tokens: float, retry_after: int) -> None:
    decision = take_token(RateBucket(tokens=tokens, at_ms=NOW_MS, sequence=1), FIVE_A_MINUTE, NOW_MS)

    assert not decision.allowed
    assert decision.retry_after == retry_after


def test_retry_after_never_outlasts_the_throttle() -> None:
    empty = RateBucket(tokens=0.0, at_ms=NOW_MS, sequence=1)

    decision = take_token(empty, FIVE_A_MINUTE, NOW_MS, throttled_until=NOW_MS // 1000 + 3)

    assert decision.retry_after == 3


def test_retry_after_is_at_least_one_second_at_the_throttle_end() -> None:
    empty = RateBucket(tokens=0.0, at_ms=NOW_MS + 500, sequence=1)

    decision = take_token(empty, FIVE_A_MINUTE, NOW_MS + 500, throttled_until=NOW_MS // 1000 + 1)

    assert decision.retry_after == 1


def test_each_admission_bumps_the_sequence() -> None:
    first = take_token(None, FIVE_A_MINUTE, NOW_MS).bucket
    second = take_token(first, FIVE_A_MINUTE, NOW_MS + 1).bucket

    assert (first.sequence, second.sequence) == (1, 2)
