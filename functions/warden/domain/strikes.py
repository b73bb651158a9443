"""The strike ladder: how many strikes within the window make a user warned or suspended."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from warden.config import StrikeLadderConfig
from warden.models import Strike, UserStatus


@dataclass(frozen=True)
class LadderStep:
    status: UserStatus
    # Epoch seconds after which the status lapses back to active; None = until a reviewer reinstates.
    until: int | None


class StrikeLadder:
    def __init__(self, config: StrikeLadderConfig):
        self.config = config

    @property
    def window_seconds(self) -> int:
        return self.config.window_days * 86_400

    def active(self, strikes: Sequence[Strike], now_epoch: int) -> list[Strike]:
        return [strike for strike in strikes if strike.expires_at > now_epoch]

    def evaluate(self, strikes: Sequence[Strike], now_epoch: int) -> LadderStep:
        """The status that the active strikes earn. Suspension does not lapse by itself."""
        active = self.active(strikes, now_epoch)
        count = len(active)
        if count >= self.config.suspend_at:
            return LadderStep(UserStatus.SUSPENDED, None)
        if count >= self.config.warn_at:
            # Warned until enough strikes expire to drop below the warning threshold.
            expiries = sorted(strike.expires_at for strike in active)
            return LadderStep(UserStatus.WARNED, expiries[count - self.config.warn_at])
        return LadderStep(UserStatus.ACTIVE, None)


def effective_status(status: UserStatus, until: int | None, now_epoch: int) -> UserStatus:
    """A stored status as it stands now: warnings and throttles lapse at `until`; suspension does not."""
    if status in (UserStatus.WARNED, UserStatus.THROTTLED) and until is not None and until <= now_epoch:
        return UserStatus.ACTIVE
    return status


def warning_text(status: UserStatus, active_strikes: int, suspend_at: int) -> str | None:
    if status is not UserStatus.WARNED:
        return None
    remaining = max(suspend_at - active_strikes, 0)
    return (
        f"this user has {active_strikes} usage-policy violation(s) in the current window; "
        f"{remaining} more will suspend access"
    )
