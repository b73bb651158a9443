"""Request ids: `wrq_` + a ULID, so they sort by the millisecond they were made in."""

from __future__ import annotations

import re

from warden.ids import new_request_id

ULID_ID = re.compile(r"^wrq_[0-9A-HJKMNP-TV-Z]{26}$")


def test_request_id_is_wrq_prefixed_ulid() -> None:
    assert ULID_ID.match(new_request_id())


def test_ids_made_at_increasing_milliseconds_sort_in_that_order() -> None:
    # Given timestamps that cross base32 digit boundaries (31 -> 32, 1023 -> 1024) and span years
    moments = [0, 1, 31, 32, 1023, 1024, 1_700_000_000_000, 1_700_000_000_001, 2**48 - 1]

    # When an id is made at each moment
    ids = [new_request_id(now_ms=moment) for moment in moments]

    # Then sorting the ids as plain strings keeps them in time order
    assert sorted(ids) == ids


def test_ids_are_unique_within_one_millisecond() -> None:
    # Ids made in the same millisecond are unique, but their order is random (no monotonic counter).
    ids = {new_request_id(now_ms=1_700_000_000_000) for _ in range(1000)}

    assert len(ids) == 1000
