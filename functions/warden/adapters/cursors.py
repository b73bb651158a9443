"""Opaque pagination cursors for DynamoDB listings: a query's LastEvaluatedKey, url-safe, naming its listing."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Set
from typing import Any

from warden.domain.json_text import load_json

_TYPES = ("S", "N")


class InvalidCursorError(ValueError):
    """A pagination cursor this store did not hand out (or one for another listing)."""


def encode_cursor(index: str, last_key: dict[str, Any]) -> str:
    """The query's LastEvaluatedKey as an opaque url-safe token (it names the listing it belongs to)."""
    return base64.urlsafe_b64encode(json.dumps({"i": index, "k": last_key}, sort_keys=True).encode()).decode()


def _is_key_value(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and len(value) == 1
        and next(iter(value)) in _TYPES
        and isinstance(next(iter(value.values())), str)
    )


def decode_cursor(index: str, cursor: str, key_names: Set[str]) -> dict[str, Any]:
    """The ExclusiveStartKey of a cursor `encode_cursor(index, …)` made; InvalidCursorError for anything else."""
    try:
        decoded = load_json(base64.urlsafe_b64decode(cursor.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as error:
        raise InvalidCursorError("the cursor is not one this listing handed out") from error
    keys = decoded.get("k") if isinstance(decoded, dict) else None
    if (
        not isinstance(keys, dict)
        or decoded.get("i") != index
        or set(keys) != set(key_names)
        or not all(_is_key_value(value) for value in keys.values())
    ):
        raise InvalidCursorError("the cursor is not one this listing handed out")
    return keys
