"""JSON bodies whose strings must be Unicode text: screened, stored in audit records and DynamoDB, sent to Claude."""

from __future__ import annotations

import json
import re
from typing import Any

from warden.errors import InvalidRequestError

# Half of a surrogate pair, which JSON may carry alone: a \uD800-\uDFFF escape, or (from text that held a lone one,
# encoded with "surrogatepass") the three bytes it would be in UTF-8.
_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")

UNPAIRED_SURROGATE = (
    "request body has a string with an unpaired UTF-16 surrogate escape (such as \\ud800), which is not valid "
    "Unicode; send text as UTF-8, or escape characters outside the Basic Multilingual Plane as pairs"
)


def load_json(raw: bytes) -> Any:
    """`json.loads` for a request body, raising ValueError (with a message for the client) for whatever is not
    plain JSON: besides malformed text, NaN and Infinity (Python reads them; JSON has no such numbers, and they could
    not be sent on or stored as JSON), a number too long to convert (Python's 4,300-digit limit) and nesting too
    deep to parse (RecursionError, which would otherwise be a 500)."""
    try:
        return json.loads(raw, parse_constant=_refuse_constant)
    except RecursionError:
        raise ValueError("it is nested too deeply") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def refuse_unpaired_surrogates(raw_body: bytes, payload: Any) -> None:
    """A 400 for a parsed body with half a surrogate pair in a string: not Unicode text, so it could not be
    screened as text, stored or sent on (pairs decode to one character and pass). Only a body with such an
    escape or bytes in it is walked."""
    if _SURROGATE.search(raw_body) and _has_lone_surrogate(payload):
        raise InvalidRequestError(UNPAIRED_SURROGATE)


def _has_lone_surrogate(payload: Any) -> bool:
    """Whether any string (key or value) in the parsed body fails to encode as UTF-8: only a lone surrogate does.
    Iterative, and each string is checked in C (clients that escape all non-ASCII text send every emoji as a pair
    of such escapes, so bodies that get here are common)."""
    pending = [payload]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False
