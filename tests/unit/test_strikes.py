"""The strike ladder: active strikes earn a status; warnings and throttles lapse, suspension does not."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from warden.config import StrikeLadderConfig, ThrottleConfig
from warden.domain.strikes import LadderStep, StrikeLadder, effective_status, warning_text
from warden.models import Strike, UserStatus
from warden.taxonomy import Category

NOW = 1_750_000_000
DAY = 86_400
WINDOW = 30 * DAY


@pytest.fixture
def ladder() -> StrikeLadder:
    return StrikeLadder(StrikeLadderConfig(warn_at=2, throttle_at=None, suspend_at=4, window_days=30))


@pytest.fixture
def throttling() -> StrikeLadder:
    """The default ladder's shape: warn at 1, throttle at 3 for a day, suspend at 5."""
    return StrikeLadder(
        StrikeLadderConfig(
            warn_at=1,
            throttle_at=3,
            suspend_at=5,
            window_days=30,
            throttle=ThrottleConfig(requests=5, per_seconds=60, duration_hours=24),
        )
    )


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


def strikes_expiring_at(*expiries: int) -> list[Strike]:
    return [
        Strike(request_id=f"wrq_{index}", categories=[Category.FRAUD_ABUSE], at="2025-01-01T00:00Z", expires_at=expiry)
        for index, expiry in enumerate(expiries)
    ]


def strikes_given_at(*moments: int, category: Category = Category.FRAUD_ABUSE, window: int = WINDOW) -> list[Strike]:
    return [
        Strike(request_id=f"wrq_{moment}", categories=[category], at=_iso(moment), expires_at=moment + window)
        for moment in moments
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
    assert step == LadderStep(UserStatus.WARNED, NOW + 200, NOW + 200)


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


# ------------------------------------------------------------------------------------------- throttle step


def test_third_strike_throttles_for_the_throttle_period(throttling: StrikeLadder) -> None:
    # Given three strikes in the window, the last one an hour ago
    strikes = strikes_given_at(NOW - 5 * DAY, NOW - 2 * DAY, NOW - 3600)

    # When the ladder evaluates them
    step = throttling.evaluate(strikes, NOW)

    # Then the user is throttled for 24 hours from the last strike, and warned until the last strike expires
    assert step == LadderStep(UserStatus.THROTTLED, NOW - 3600 + DAY, NOW - 3600 + WINDOW)


def test_two_strikes_only_warn(throttling: StrikeLadder) -> None:
    step = throttling.evaluate(strikes_given_at(NOW - 2 * DAY, NOW - 3600), NOW)

    assert step.status is UserStatus.WARNED
    assert step.until == step.warned_until == NOW - 3600 + WINDOW


def test_a_new_strike_while_throttled_restarts_the_throttle_period(throttling: StrikeLadder) -> None:
    step = throttling.evaluate(strikes_given_at(NOW - 3 * DAY, NOW - 2 * DAY, NOW - DAY + 60, NOW - 10), NOW)

    assert step.status is UserStatus.THROTTLED
    assert step.until == NOW - 10 + DAY


def test_a_throttle_whose_period_passed_leaves_a_warning(throttling: StrikeLadder) -> None:
    # Given three strikes, the last one two days ago: the 24-hour throttle is over
    step = throttling.evaluate(strikes_given_at(NOW - 4 * DAY, NOW - 3 * DAY, NOW - 2 * DAY), NOW)

    assert step == LadderStep(UserStatus.WARNED, NOW - 2 * DAY + WINDOW, NOW - 2 * DAY + WINDOW)


def test_a_throttle_ends_early_when_strikes_expire_below_throttle_at(throttling: StrikeLadder) -> None:
    # Given three strikes, the oldest expiring in ten minutes, the newest given an hour ago
    strikes = strikes_given_at(NOW - WINDOW + 600, NOW - DAY, NOW - 3600)

    step = throttling.evaluate(strikes, NOW)

    # Then the throttle lasts only until the oldest one expires
    assert step.status is UserStatus.THROTTLED
    assert step.until == NOW + 600


def test_window_expiry_lowers_the_count(throttling: StrikeLadder) -> None:
    # Given five strikes of which two have expired
    strikes = strikes_given_at(NOW - WINDOW - 2, NOW - WINDOW, NOW - 3 * DAY, NOW - 2 * DAY, NOW - 3600)

    assert throttling.evaluate(strikes, NOW).status is UserStatus.THROTTLED


def test_fifth_strike_suspends(throttling: StrikeLadder) -> None:
    strikes = strikes_given_at(NOW - 5 * DAY, NOW - 4 * DAY, NOW - 3 * DAY, NOW - 2 * DAY, NOW - 3600)

    assert throttling.evaluate(strikes, NOW) == LadderStep(UserStatus.SUSPENDED, None)


def test_dismissed_strikes_do_not_count(throttling: StrikeLadder) -> None:
    # Given five strikes, two of them dismissed by a reviewer
    strikes = strikes_given_at(NOW - 5 * DAY, NOW - 4 * DAY, NOW - 3 * DAY, NOW - 2 * DAY, NOW - 3600)
    strikes[0] = strikes[0].model_copy(update={"dismissed": True})
    strikes[3] = strikes[3].model_copy(update={"dismissed": True})

    # Then three count: throttled, not suspended, and the dismissed ones are not listed as active
    assert throttling.evaluate(strikes, NOW).status is UserStatus.THROTTLED
    assert len(throttling.active(strikes, NOW)) == 3


def test_one_child_safety_strike_suspends_at_once(throttling: StrikeLadder) -> None:
    strikes = strikes_given_at(NOW - 60, category=Category.CHILD_SAFETY)

    assert throttling.evaluate(strikes, NOW) == LadderStep(UserStatus.SUSPENDED, None)


def test_a_dismissed_child_safety_strike_no_longer_suspends(throttling: StrikeLadder) -> None:
    [strike] = strikes_given_at(NOW - 60, category=Category.CHILD_SAFETY)

    step = throttling.evaluate([strike.model_copy(update={"dismissed": True})], NOW)

    assert step.status is UserStatus.ACTIVE


def test_an_expired_child_safety_strike_no_longer_suspends_by_itself(throttling: StrikeLadder) -> None:
    # (The stored suspension does not lapse: only a re-evaluation, e.g. after a dismissal, lifts it.)
    strikes = strikes_given_at(NOW - WINDOW - 1, category=Category.CHILD_SAFETY)

    assert throttling.evaluate(strikes, NOW).status is UserStatus.ACTIVE


def test_immediate_categories_are_configurable() -> None:
    ladder = StrikeLadder(StrikeLadderConfig(suspend_immediately=(Category.FRAUD_ABUSE,)))

    assert ladder.evaluate(strikes_given_at(NOW - 60), NOW).status is UserStatus.SUSPENDED
    assert ladder.evaluate(strikes_given_at(NOW - 60, category=Category.CHILD_SAFETY), NOW).status is UserStatus.WARNED


def test_without_a_throttle_step_the_ladder_goes_from_warned_to_suspended() -> None:
    ladder = StrikeLadder(StrikeLadderConfig(throttle_at=None))

    assert ladder.evaluate(strikes_given_at(NOW - 3, NOW - 2, NOW - 1, NOW), NOW).status is UserStatus.WARNED


def test_a_throttle_lapses_into_the_warning_that_still_holds() -> None:
    assert effective_status(UserStatus.THROTTLED, NOW, NOW, warned_until=NOW + 1) is UserStatus.WARNED


def test_a_throttle_lapses_to_active_when_the_warning_ended_too() -> None:
    assert effective_status(UserStatus.THROTTLED, NOW - 5, NOW, warned_until=NOW) is UserStatus.ACTIVE


def test_a_throttle_holds_before_its_end() -> None:
    assert effective_status(UserStatus.THROTTLED, NOW + 1, NOW, warned_until=NOW + 99) is UserStatus.THROTTLED


def test_throttled_users_are_told_they_are_rate_limited() -> None:
    text = warning_text(UserStatus.THROTTLED, active_strikes=3, suspend_at=5)

    assert text is not None
    assert "rate-limited" in text
    assert "2 more will suspend" in text
