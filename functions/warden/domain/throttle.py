"""The throttle step's rate limit: a token bucket per user, as pure arithmetic (the store keeps it atomic).

A bucket holds up to `requests` tokens and refills at `requests / per_seconds` per second; each admitted
request takes one. Time is in epoch milliseconds, passed in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from warden.config import ThrottleConfig
from warden.models import RateBucket

# Tokens are stored rounded, so repeated refills do not accumulate float noise in DynamoDB numbers.
TOKEN_DECIMALS = 6


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    # The bucket after this request (the one to store when allowed; unchanged when refused).
    bucket: RateBucket
    # Whole seconds until a token is back (never early: rounded up, at least 1); None when allowed.
    retry_after: int | None = None


def tokens_now(bucket: RateBucket | None, throttle: ThrottleConfig, now_ms: int) -> float:
    """Tokens in the bucket at `now_ms`; a user with no bucket yet starts full."""
    if bucket is None:
        return float(throttle.requests)
    elapsed = max(now_ms - bucket.at_ms, 0)  # a clock that stepped back refills nothing
    refilled = bucket.tokens + elapsed * throttle.requests / (throttle.per_seconds * 1000)
    return min(float(throttle.requests), refilled)


def take_token(
    bucket: RateBucket | None, throttle: ThrottleConfig, now_ms: int, throttled_until: int | None = None
) -> RateDecision:
    """Admit one request if a token is available; otherwise say when to retry (capped at the throttle's end)."""
    tokens = tokens_now(bucket, throttle, now_ms)
    sequence = bucket.sequence + 1 if bucket else 1
    if tokens >= 1:
        return RateDecision(True, RateBucket(tokens=round(tokens - 1, TOKEN_DECIMALS), at_ms=now_ms, sequence=sequence))
    wait_ms = (1 - tokens) * throttle.per_seconds * 1000 / throttle.requests
    retry_after = max(1, math.ceil(wait_ms / 1000))
    if throttled_until is not None:
        retry_after = max(1, min(retry_after, math.ceil(throttled_until - now_ms / 1000)))
    assert bucket is not None  # a user with no bucket has a full one
    return RateDecision(False, bucket, retry_after)
