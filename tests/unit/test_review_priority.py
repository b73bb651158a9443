"""Review priority: lower sorts first, and child safety always leads the queue."""

from __future__ import annotations

import pytest
from warden.domain.review import review_priority
from warden.models import Decision
from warden.taxonomy import Category


@pytest.mark.parametrize("decision", [Decision.BLOCKED, Decision.FLAGGED])
def test_child_safety_outranks_every_other_item(decision: Decision) -> None:
    child_safety = review_priority([Category.FRAUD_ABUSE, Category.CHILD_SAFETY], decision)

    others = [
        review_priority([Category.WEAPONS_ILLEGAL_GOODS], Decision.BLOCKED),
        review_priority([Category.MISINFORMATION], Decision.FLAGGED),
        review_priority([], Decision.FLAGGED),
    ]

    assert all(child_safety < other for other in others)


def test_blocked_outranks_flagged() -> None:
    assert review_priority([Category.FRAUD_ABUSE], Decision.BLOCKED) < review_priority(
        [Category.MISINFORMATION], Decision.FLAGGED
    )


def test_flagged_with_categories_outranks_unchecked() -> None:
    # An item with no categories was served unscreened (a screener failed under allow_and_flag).
    assert review_priority([Category.ELECTIONS], Decision.FLAGGED) < review_priority([], Decision.FLAGGED)
