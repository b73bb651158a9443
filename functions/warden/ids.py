"""Time-sortable request ids."""

from __future__ import annotations

import os
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: sorts like the numbers it encodes


def _base32(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_request_id(now_ms: int | None = None) -> str:
    """`wrq_` + a ULID: 48-bit millisecond timestamp then 80 random bits, so ids sort by time."""
    timestamp = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    randomness = int.from_bytes(os.urandom(10), "big")
    return "wrq_" + _base32(timestamp, 10) + _base32(randomness, 16)
