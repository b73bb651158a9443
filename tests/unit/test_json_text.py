"""Bodies whose strings are not Unicode text (half a surrogate pair) are refused with a 400, never a 500 later."""

from __future__ import annotations

import json

import pytest
from warden.domain import reviewing
from warden.domain.json_text import refuse_unpaired_surrogates
from warden.errors import InvalidRequestError


@pytest.mark.parametrize("text", ["note \ud800", "\udfff", "a\ude00b\ud83d"])
def test_a_reviewer_body_with_half_a_surrogate_pair_is_refused(text: str) -> None:
    with pytest.raises(InvalidRequestError, match="unpaired UTF-16 surrogate"):
        reviewing.json_body(json.dumps({"reason": text}).encode())


def test_a_reviewer_body_given_as_text_with_a_raw_lone_surrogate_is_refused() -> None:
    with pytest.raises(InvalidRequestError, match="unpaired UTF-16 surrogate"):
        reviewing.json_body('{"reason": "note \ud800"}')


def test_pairs_and_escaped_backslashes_pass() -> None:
    body = {"reason": "smile \U0001f600", "path": "C:\\ud800 is a folder name"}
    raw = json.dumps(body).encode()
    assert b"\\ud83d\\ude00" in raw and b"\\\\ud800" in raw

    refuse_unpaired_surrogates(raw, json.loads(raw))
    assert reviewing.json_body(raw) == body


def test_a_raw_lone_surrogate_passed_through_as_bytes_is_refused() -> None:
    # The gateway encodes the event's text with "surrogatepass"; json.loads reads those bytes back as the surrogate.
    raw = '{"reason": "note \ud800"}'.encode("utf-8", "surrogatepass")

    with pytest.raises(InvalidRequestError, match="unpaired UTF-16 surrogate"):
        refuse_unpaired_surrogates(raw, json.loads(raw))


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"reason": ' + b"[" * 5_000 + b"]" * 5_000 + b"}", "nested too deeply"),
        (b'{"reason": NaN}', "NaN is not a JSON number"),
        (b"{", "not valid JSON"),
    ],
)
def test_a_reviewer_body_that_is_not_plain_json_is_refused(raw: bytes, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        reviewing.json_body(raw)


def test_half_a_pair_in_a_key_or_deep_in_a_list_is_found() -> None:
    for payload in ({"\ud800": 1}, {"a": [1, {"b": ["ok", "x\udc00"]}]}):
        raw = json.dumps(payload).encode()
        with pytest.raises(InvalidRequestError, match="unpaired UTF-16 surrogate"):
            refuse_unpaired_surrogates(raw, json.loads(raw))
