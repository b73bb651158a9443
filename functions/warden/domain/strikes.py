"""The strike ladder: how many strikes within the window make a user warned, throttled or suspended."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from warden.config import StrikeLadderConfig
from warden.models import Strike, UserStatus


@dataclass(frozen=True)
class LadderStep:
    status: UserStatus
    # Epoch seconds after which the status lapses; None = until a reviewer acts (suspended) or nothing to lapse.
    until: int | None
    # When the warning ends: a throttle lapses into a warning that lasts until here.
    warned_until: int | None = None


def strike_epoch(strike: Strike) -> int:
    """When the strike was given, in epoch seconds."""
    return int(datetime.fromisoformat(strike.at).timestamp())


class StrikeLadder:
    def __init__(self, config: StrikeLadderConfig):
        self.config = config

    @property
    def window_seconds(self) -> int:
        return self.config.window_days * 86_400

    @property
    def throttle_seconds(self) -> int:
        return self.config.throttle.duration_hours * 3600

    def active(self, strikes: Sequence[Strike], now_epoch: int) -> list[Strike]:
        """The strikes that count: not expired, not dismissed by a reviewer."""
        return [strike for strike in strikes if strike.expires_at > now_epoch and not strike.dismissed]

    def evaluate(self, strikes: Sequence[Strike], now_epoch: int) -> LadderStep:
        """The status that the active strikes earn now. Suspension does not lapse by itself."""
        active = self.active(strikes, now_epoch)
        count = len(active)
        immediate = set(self.config.suspend_immediately)
        if count >= self.config.suspend_at or any(immediate.intersection(strike.categories) for strike in active):
            return LadderStep(UserStatus.SUSPENDED, None)
        if count < self.config.warn_at:
            return LadderStep(UserStatus.ACTIVE, None)
        expiries = sorted(strike.expires_at for strike in active)
        # Each step holds until enough strikes expire to drop below its threshold.
        warned_until = expiries[count - self.config.warn_at]
        throttle_at = self.config.throttle_at
        if throttle_at is not None and count >= throttle_at:
            # Every strike at or above the threshold starts the throttle period afresh.
            latest = max(strike_epoch(strike) for strike in active)
            throttled_until = min(latest + self.throttle_seconds, expiries[count - throttle_at])
            if throttled_until > now_epoch:
                return LadderStep(UserStatus.THROTTLED, throttled_until, warned_until)
        return LadderStep(UserStatus.WARNED, warned_until, warned_until)


def effective_status(
    status: UserStatus, until: int | None, now_epoch: int, warned_until: int | None = None
) -> UserStatus:
    """A stored status as it stands now: a throttle lapses into the warning (if it still holds), a warning
    into active; suspension does not lapse."""
    if status not in (UserStatus.WARNED, UserStatus.THROTTLED) or until is None or until > now_epoch:
        return status
    if warned_until is not None and warned_until > now_epoch:
        return UserStatus.WARNED
    return UserStatus.ACTIVE


def warning_text(status: UserStatus, active_strikes: int, suspend_at: int) -> str | None:
    if status not in (UserStatus.WARNED, UserStatus.THROTTLED):
        return None
    remaining = max(suspend_at - active_strikes, 0)
    throttled = " and is rate-limited" if status is UserStatus.THROTTLED else ""
    return (
        f"this user has {active_strikes} usage-policy violation(s) in the current window{throttled}; "
        f"{remaining} more will suspend access"
    )
