"""`parse_messages_request`: the Messages shape and the deployment's limits, refused with a clear 400 or 413."""

from __future__ import annotations

import json
from typing import Any

import pytest
from warden.config import RuntimeConfig
from warden.domain.gateway import parse_messages_request
from warden.errors import InvalidRequestError, RequestTooLargeError

from tests.unit.fakes import MODEL, runtime_config

CONFIG: RuntimeConfig = runtime_config(limits={"max_body_bytes": 2048, "max_messages": 3, "max_tokens": 1000})


def body(**overrides: Any) -> dict[str, Any]:
    """A valid request body, with top-level fields replaced (a value of None removes the field)."""
    request: dict[str, Any] = {
        "model": MODEL,
        "max_tokens": 100,
        "messages": [{"role": "user", "content": "Hello"}],
        "metadata": {"user_id": "end-user-1"},
    }
    request.update(overrides)
    return {key: value for key, value in request.items() if value is not None}


def encoded(request: dict[str, Any]) -> bytes:
    return json.dumps(request).encode()


def test_a_valid_request_is_parsed_and_its_payload_kept_for_passthrough() -> None:
    raw = body(temperature=0.2, system="Be brief.")

    request, payload = parse_messages_request(encoded(raw), CONFIG)

    assert (request.model, request.metadata and request.metadata.user_id) == (MODEL, "end-user-1")
    assert payload == raw


def test_stream_false_is_accepted() -> None:
    request, _ = parse_messages_request(encoded(body(stream=False)), CONFIG)

    assert request.stream is False


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param(b"", "request body is empty", id="empty"),
        pytest.param(b"{not json", "request body is not valid JSON", id="invalid-json"),
        pytest.param(b"\xff\xfe", "request body is not valid JSON", id="not-utf8"),
        pytest.param(b"[1, 2]", "request body must be a JSON object", id="array"),
        pytest.param(b'"hello"', "request body must be a JSON object", id="string"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_refused(raw: bytes, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        parse_messages_request(raw, CONFIG)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        pytest.param({"model": None}, "model", id="no-model"),
        pytest.param({"max_tokens": "lots"}, "max_tokens", id="max-tokens-not-int"),
        pytest.param({"max_tokens": 0}, "max_tokens", id="max-tokens-zero"),
        pytest.param({"max_tokens": "100"}, "max_tokens", id="max-tokens-numeric-string"),
        pytest.param({"max_tokens": True}, "max_tokens", id="max-tokens-bool"),
        pytest.param({"stream": "yes"}, "stream", id="stream-not-bool"),
        pytest.param({"messages": "Hello"}, "messages", id="messages-not-list"),
        pytest.param({"messages": []}, "messages", id="messages-empty"),
        pytest.param({"messages": [{"role": "system", "content": "hi"}]}, "messages.0.role", id="bad-role"),
        pytest.param({"messages": [{"role": "user", "content": []}]}, "messages.0.content", id="empty-content"),
        pytest.param(
            {"messages": [{"role": "user", "content": [{"type": "text"}]}]}, "messages.0.content", id="no-text"
        ),
        pytest.param({"metadata": {"user_id": 42}}, "metadata.user_id", id="user-id-not-string"),
    ],
)
def test_wrong_shapes_are_refused_naming_the_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRequestError, match=rf"^{field}"):
        parse_messages_request(encoded(body(**overrides)), CONFIG)


def test_streaming_is_refused_with_a_clear_message() -> None:
    with pytest.raises(InvalidRequestError, match="streaming is not yet supported"):
        parse_messages_request(encoded(body(stream=True)), CONFIG)


def test_a_model_not_enabled_on_the_gateway_is_refused_by_name() -> None:
    with pytest.raises(
        InvalidRequestError, match=rf"'claude-unknown-1' is not enabled on this gateway; use one of: {MODEL}"
    ):
        parse_messages_request(encoded(body(model="claude-unknown-1")), CONFIG)


def test_max_tokens_over_the_limit_is_refused() -> None:
    with pytest.raises(InvalidRequestError, match="max_tokens: 1001 exceeds this gateway's limit of 1000"):
        parse_messages_request(encoded(body(max_tokens=1001)), CONFIG)


def test_max_tokens_at_the_limit_is_accepted() -> None:
    request, _ = parse_messages_request(encoded(body(max_tokens=1000)), CONFIG)

    assert request.max_tokens == 1000


def test_too_many_messages_are_refused() -> None:
    turns = [{"role": role, "content": "hi"} for role in ("user", "assistant", "user", "assistant")]

    with pytest.raises(InvalidRequestError, match="4 messages exceed this gateway's limit of 3"):
        parse_messages_request(encoded(body(messages=turns)), CONFIG)


def test_a_conversation_must_start_with_a_user_turn() -> None:
    with pytest.raises(InvalidRequestError, match="first message must use the 'user' role"):
        parse_messages_request(encoded(body(messages=[{"role": "assistant", "content": "hi"}])), CONFIG)


def test_an_oversize_body_is_refused_as_too_large() -> None:
    raw = encoded(body(messages=[{"role": "user", "content": "a" * 2048}]))

    with pytest.raises(RequestTooLargeError) as caught:
        parse_messages_request(raw, CONFIG)

    assert caught.value.status == 413


def test_size_is_checked_before_parsing() -> None:
    # An oversize body is refused without being parsed: garbage of that size is a 413, not a 400.
    with pytest.raises(RequestTooLargeError):
        parse_messages_request(b"x" * 2049, CONFIG)


@pytest.mark.parametrize("text", ["hello \ud800 there", "\udfff", "a\ude00b"])
def test_a_lone_surrogate_escape_is_refused(text: str) -> None:
    # JSON may carry half of a UTF-16 surrogate pair: not Unicode text, which the audit record could not store.
    raw = encoded(body(messages=[{"role": "user", "content": text}]))
    assert b"\\u" in raw

    with pytest.raises(InvalidRequestError, match="unpaired UTF-16 surrogate"):
        parse_messages_request(raw, CONFIG)


def test_a_surrogate_pair_escape_is_one_character_and_accepted() -> None:
    raw = encoded(body(messages=[{"role": "user", "content": "smile \U0001f600"}]))
    assert b"\\ud83d\\ude00" in raw  # json.dumps escapes it as a pair

    request, _ = parse_messages_request(raw, CONFIG)

    assert request.messages[0].content == "smile \U0001f600"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param(b'{"messages": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply", id="deep"),
        pytest.param(b'{"max_tokens": 1' + b"0" * 5_000 + b"}", "4300 digits", id="long-number"),
        pytest.param(b'{"temperature": NaN}', "NaN is not a JSON number", id="nan"),
        pytest.param(b'{"top_p": -Infinity}', "-Infinity is not a JSON number", id="infinity"),
    ],
)
def test_what_python_reads_but_json_is_not_is_refused_not_a_500(raw: bytes, message: str) -> None:
    # Nesting too deep raised RecursionError, a 5,000-digit number a plain ValueError; NaN was read, sent on and
    # stored, and JSON has no such number.
    big = runtime_config(limits={"max_body_bytes": 1_000_000})

    with pytest.raises(InvalidRequestError, match=message):
        parse_messages_request(raw, big)


def test_on_bedrock_an_image_or_pdf_by_url_is_a_400_naming_the_fix() -> None:
    # Bedrock takes them inline only: the moderator's call would fail (the fail mode's 503), then Claude's.
    bedrock = runtime_config(
        provider="bedrock",
        models={
            "allowed": [MODEL],
            "moderator": MODEL,
            "bedrock_model_map": {MODEL: "global.anthropic.claude-sonnet-4-5-20250929-v1:0"},
        },
    )
    by_url = {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}}
    inline = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}

    def with_block(block: dict[str, Any]) -> bytes:
        return encoded(body(messages=[{"role": "user", "content": [{"type": "text", "text": "hi"}, block]}]))

    with pytest.raises(InvalidRequestError) as refused:
        parse_messages_request(with_block(by_url), bedrock)
    assert refused.value.message == (
        "messages.0.content.1: this gateway calls Claude on Amazon Bedrock, which takes images inline only; "
        "send the image as base64 data, not by URL"
    )
    parse_messages_request(with_block(inline), bedrock)
    parse_messages_request(with_block(by_url), runtime_config())  # the Anthropic API fetches it
