"""The strike ladder: active strikes earn a status; warnings lapse, suspension does not."""

from __future__ import annotations

import pytest
from warden.config import StrikeLadderConfig
from warden.domain.strikes import LadderStep, StrikeLadder, effective_status, warning_text
from warden.models import Strike, UserStatus
from warden.taxonomy import Category

NOW = 1_000


@pytest.fixture
def ladder() -> StrikeLadder:
    return StrikeLadder(StrikeLadderConfig(warn_at=2, suspend_at=4, window_days=30))


def strikes_expiring_at(*expiries: int) -> list[Strike]:
    return [
        Strike(request_id=f"wrq_{index}", categories=[Category.FRAUD_ABUSE], at="2025-01-01T00:00Z", expires_at=expiry)
        for index, expiry in enumerate(expiries)
    ]


def test_window_is_counted_in_days(ladder: StrikeLadder) -> None:
    assert ladder.window_seconds == 30 * 86_400


def test_a_strike_expiring_now_is_no_longer_active(ladder: StrikeLadder) -> None:
    strikes = strikes_expiring_at(NOW - 1, NOW, NOW + 1)

    assert [strike.expires_at for strike in ladder.active(strikes, NOW)] == [NOW + 1]


def test_fewer_strikes_than_warn_at_leave_the_user_active(ladder: StrikeLadder) -> None:
    assert ladder.evaluate(strikes_expiring_at(NOW + 100), NOW) == LadderStep(UserStatus.ACTIVE, None)


def test_warning_lasts_until_enough_strikes_expire_to_drop_below_warn_at(ladder: StrikeLadder) -> None:
    # Given three active strikes and warn_at=2, listed out of expiry order
    strikes = strikes_expiring_at(NOW + 300, NOW + 100, NOW + 200)

    # When the ladder evaluates them
    step = ladder.evaluate(strikes, NOW)

    # Then the user is warned until the second expiry, when only one strike is left
    assert step == LadderStep(UserStatus.WARNED, NOW + 200)


def test_reaching_suspend_at_suspends_with_no_end(ladder: StrikeLadder) -> None:
    step = ladder.evaluate(strikes_expiring_at(NOW + 1, NOW + 2, NOW + 3, NOW + 4), NOW)

    assert step == LadderStep(UserStatus.SUSPENDED, None)


def test_expired_strikes_do_not_count_towards_suspension(ladder: StrikeLadder) -> None:
    step = ladder.evaluate(strikes_expiring_at(NOW - 2, NOW - 1, NOW + 3, NOW + 4), NOW)

    assert step.status is UserStatus.WARNED


@pytest.mark.parametrize("status", [UserStatus.WARNED, UserStatus.THROTTLED])
def test_warnings_and_throttles_lapse_at_their_end(status: UserStatus) -> None:
    assert effective_status(status, until=NOW, now_epoch=NOW) is UserStatus.ACTIVE


def test_warning_holds_before_its_end() -> None:
    assert effective_status(UserStatus.WARNED, until=NOW + 1, now_epoch=NOW) is UserStatus.WARNED


def test_suspension_does_not_lapse_by_itself() -> None:
    assert effective_status(UserStatus.SUSPENDED, until=NOW - 1, now_epoch=NOW) is UserStatus.SUSPENDED


def test_warning_text_says_how_many_more_strikes_suspend() -> None:
    text = warning_text(UserStatus.WARNED, active_strikes=3, suspend_at=5)

    assert text is not None
    assert "3 usage-policy violation(s)" in text
    assert "2 more will suspend" in text


@pytest.mark.parametrize("status", [UserStatus.ACTIVE, UserStatus.SUSPENDED])
def test_only_warned_users_get_a_warning_text(status: UserStatus) -> None:
    assert warning_text(status, active_strikes=3, suspend_at=5) is None
