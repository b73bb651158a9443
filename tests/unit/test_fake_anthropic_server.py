"""Self-tests of tests/fakes/anthropic_server.py, driven by the official anthropic SDK (and boto3 for Bedrock)."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import anthropic
import boto3
import pytest
from anthropic.types import ToolParam
from botocore.config import Config
from botocore.eventstream import EventStreamBuffer
from botocore.exceptions import ClientError

from tests.fakes import DEFAULT_API_KEY, FakeAnthropic, encode_eventstream_message

MODEL = "claude-test-model"
BEDROCK_MODEL = "us.anthropic.claude-test-model-v1:0"
USER_MESSAGES: list[Any] = [{"role": "user", "content": "Hello there, how are you today?"}]
MODERATOR_TOOL: ToolParam = {
    "name": "record_verdict",
    "description": "Record the moderation verdict.",
    "input_schema": {
        "type": "object",
        "properties": {"flagged": {"type": "boolean"}, "categories": {"type": "array", "items": {"type": "string"}}},
        "required": ["flagged", "categories"],
    },
}
LONG_SYSTEM = "You are a strict content moderator. " * 40  # 1,440 characters -> 360 tokens


@pytest.fixture(scope="module")
def shared_fake() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as server:
        yield server


@pytest.fixture(autouse=True)
def fake(shared_fake: FakeAnthropic) -> Iterator[FakeAnthropic]:
    """One server per module (SDK clients are slow to build); reset() gives every test a clean slate."""
    shared_fake.reset()
    yield shared_fake
    assert shared_fake.server_errors == []


@pytest.fixture(scope="module")
def client(shared_fake: FakeAnthropic) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(
        base_url=shared_fake.base_url, api_key=shared_fake.api_key, max_retries=0, timeout=5
    ) as sdk_client:
        yield sdk_client


@pytest.fixture(scope="module")
def bedrock(shared_fake: FakeAnthropic) -> Iterator[anthropic.AnthropicBedrock]:
    with anthropic.AnthropicBedrock(
        base_url=shared_fake.base_url,
        aws_region="us-east-1",
        aws_access_key="x",
        aws_secret_key="y",
        max_retries=0,
        timeout=5,
    ) as sdk_client:
        yield sdk_client


MakeClient = Callable[..., anthropic.Anthropic]


@pytest.fixture
def make_client() -> Iterator[MakeClient]:
    """Build extra SDK clients (other keys, timeouts, retries); all are closed after the test."""
    made: list[anthropic.Anthropic] = []

    def make(base_url: str, api_key: str = DEFAULT_API_KEY, **options: Any) -> anthropic.Anthropic:
        options.setdefault("max_retries", 0)
        options.setdefault("timeout", 5)
        made.append(anthropic.Anthropic(base_url=base_url, api_key=api_key, **options))
        return made[-1]

    yield make
    for sdk_client in made:
        sdk_client.close()


def _post(
    fake: FakeAnthropic, path: str, body: Any, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """A raw POST (no SDK) returning status, lower-cased headers and the raw body."""
    conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=5)
    try:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        conn.request("POST", path, body=data, headers={"content-type": "application/json", **(headers or {})})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


DIRECT_HEADERS = {"x-api-key": DEFAULT_API_KEY, "anthropic-version": "2023-06-01"}


# ---------------------------------------------------------------------------------------------- direct API


def test_messages_create_returns_a_real_message(fake: FakeAnthropic, client: anthropic.Anthropic) -> None:
    raw = client.messages.with_raw_response.create(model=MODEL, max_tokens=256, messages=USER_MESSAGES)
    message = raw.parse()

    assert raw.headers["request-id"].startswith("req_")
    assert raw.headers["content-type"] == "application/json"
    assert isinstance(message, anthropic.types.Message)
    assert message.id.startswith("msg_01")
    assert message.type == "message"
    assert message.role == "assistant"
    assert message.model == MODEL
    assert message.stop_reason == "end_turn"
    assert message.stop_sequence is None
    assert len(message.content) == 1
    block = message.content[0]
    assert isinstance(block, anthropic.types.TextBlock)
    assert block.text == "Fake Claude reply to: Hello there, how are you today?"
    # 31 characters of prompt -> ceil(31 / 4); 53 characters of reply -> ceil(53 / 4)
    assert message.usage.input_tokens == 8
    assert message.usage.output_tokens == 14
    assert message.usage.cache_creation_input_tokens == 0
    assert message.usage.cache_read_input_tokens == 0

    recorded = fake.last_request
    assert (recorded.method, recorded.path, recorded.api, recorded.model, recorded.stream) == (
        "POST",
        "/v1/messages",
        "anthropic",
        MODEL,
        False,
    )
    assert recorded.body == {"model": MODEL, "max_tokens": 256, "messages": USER_MESSAGES}
    assert recorded.headers["authorization"] == f"Bearer {DEFAULT_API_KEY}"
    assert "anthropic-version" in recorded.headers
    assert all(name == name.lower() for name in recorded.headers)


def test_default_reply_echoes_first_50_chars_of_last_user_text(client: anthropic.Anthropic) -> None:
    messages: list[Any] = [
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "an answer"},
        {"role": "user", "content": [{"type": "text", "text": "x" * 60}]},
    ]
    message = client.messages.create(model=MODEL, max_tokens=256, messages=messages)
    assert message.content[0].type == "text"
    assert message.content[0].text == "Fake Claude reply to: " + "x" * 50


def test_text_responder_is_pluggable(fake: FakeAnthropic, client: anthropic.Anthropic) -> None:
    seen: list[dict[str, Any]] = []

    def responder(body: dict[str, Any]) -> str:
        seen.append(body)
        return "Custom answer"

    fake.text_responder = responder
    message = client.messages.create(model=MODEL, max_tokens=64, system="Be brief.", messages=USER_MESSAGES)
    assert message.content[0].type == "text"
    assert message.content[0].text == "Custom answer"
    assert seen[0]["system"] == "Be brief."


def test_max_tokens_and_stop_sequences_cut_the_reply(fake: FakeAnthropic, client: anthropic.Anthropic) -> None:
    fake.text_responder = lambda _body: "alpha beta STOP gamma delta epsilon"
    stopped = client.messages.create(model=MODEL, max_tokens=64, messages=USER_MESSAGES, stop_sequences=["STOP"])
    assert stopped.content[0].type == "text"
    assert (stopped.content[0].text, stopped.stop_reason, stopped.stop_sequence) == (
        "alpha beta ",
        "stop_sequence",
        "STOP",
    )

    truncated = client.messages.create(model=MODEL, max_tokens=2, messages=USER_MESSAGES)
    assert truncated.content[0].type == "text"
    assert (truncated.content[0].text, truncated.stop_reason) == ("alpha be", "max_tokens")
    assert truncated.usage.output_tokens == 2


def test_x_api_key_header_is_accepted(fake: FakeAnthropic) -> None:
    status, headers, body = _post(
        fake, "/v1/messages", {"model": MODEL, "max_tokens": 10, "messages": USER_MESSAGES}, DIRECT_HEADERS
    )
    assert status == 200
    assert headers["request-id"].startswith("req_")
    assert json.loads(body)["type"] == "message"


def test_wrong_api_key_is_an_authentication_error(fake: FakeAnthropic, make_client: MakeClient) -> None:
    wrong = make_client(fake.base_url, "sk-ant-wrong-secret")
    with pytest.raises(anthropic.AuthenticationError) as caught:
        wrong.messages.create(model=MODEL, max_tokens=10, messages=USER_MESSAGES)

    error = caught.value
    assert error.status_code == 401
    assert error.type == "authentication_error"
    assert error.request_id is not None and error.request_id.startswith("req_")
    assert isinstance(error.body, dict)
    assert error.body == {
        "type": "error",
        "error": {"type": "authentication_error", "message": "invalid x-api-key"},
        "request_id": error.request_id,
    }
    assert "sk-ant-wrong-secret" not in error.response.text
    assert DEFAULT_API_KEY not in error.response.text


def test_missing_api_key_is_rejected(fake: FakeAnthropic) -> None:
    status, headers, body = _post(
        fake, "/v1/messages", {"model": MODEL, "max_tokens": 10, "messages": USER_MESSAGES}, {"anthropic-version": "x"}
    )
    assert status == 401
    assert json.loads(body)["error"]["type"] == "authentication_error"
    assert headers["request-id"] == json.loads(body)["request_id"]


def test_custom_api_key(make_client: MakeClient) -> None:
    with FakeAnthropic(api_key="sk-ant-other") as other:
        good = make_client(other.base_url, "sk-ant-other")
        assert good.messages.create(model=MODEL, max_tokens=10, messages=USER_MESSAGES).type == "message"
        bad = make_client(other.base_url)
        with pytest.raises(anthropic.AuthenticationError):
            bad.messages.create(model=MODEL, max_tokens=10, messages=USER_MESSAGES)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"max_tokens": 10, "messages": USER_MESSAGES}, "model: Field required"),
        ({"model": MODEL, "messages": USER_MESSAGES}, "max_tokens: Field required"),
        (
            {"model": MODEL, "max_tokens": "10", "messages": USER_MESSAGES},
            "max_tokens: Input should be a valid integer",
        ),
        ({"model": MODEL, "max_tokens": 10}, "messages: Field required"),
        ({"model": MODEL, "max_tokens": 10, "messages": []}, "messages: at least one message is required"),
        ({"model": MODEL, "max_tokens": 10, "messages": "hi"}, "messages: Input should be a valid list"),
    ],
)
def test_invalid_bodies_are_invalid_request_errors(fake: FakeAnthropic, body: dict[str, Any], message: str) -> None:
    status, headers, raw = _post(fake, "/v1/messages", body, DIRECT_HEADERS)
    assert status == 400
    payload = json.loads(raw)
    assert payload["type"] == "error"
    assert payload["error"] == {"type": "invalid_request_error", "message": message}
    assert headers["request-id"] == payload["request_id"]


def test_invalid_body_through_the_sdk(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(model=MODEL, max_tokens=10, messages=[])
    assert caught.value.type == "invalid_request_error"


def test_anthropic_version_header_is_required(fake: FakeAnthropic) -> None:
    status, _, raw = _post(
        fake,
        "/v1/messages",
        {"model": MODEL, "max_tokens": 10, "messages": USER_MESSAGES},
        {"x-api-key": "sk-ant-fake"},
    )
    assert status == 400
    assert json.loads(raw)["error"]["message"] == "anthropic-version: header is required"


def test_unknown_route_is_not_found(fake: FakeAnthropic) -> None:
    status, _, raw = _post(fake, "/v1/complete", {}, DIRECT_HEADERS)
    assert status == 404
    assert json.loads(raw)["error"]["type"] == "not_found_error"


def test_count_tokens(client: anthropic.Anthropic) -> None:
    count = client.messages.count_tokens(model=MODEL, messages=USER_MESSAGES)
    assert count.input_tokens == 8


# ---------------------------------------------------------------------------------------------- scripted failures


@pytest.mark.parametrize(
    ("status", "error_class", "error_type"),
    [
        (529, anthropic.OverloadedError, "overloaded_error"),
        (500, anthropic.InternalServerError, "api_error"),
        (400, anthropic.BadRequestError, "invalid_request_error"),
        (403, anthropic.PermissionDeniedError, "permission_error"),
        (413, anthropic.APIStatusError, "request_too_large"),
    ],
)
def test_fail_next_uses_real_error_bodies(
    fake: FakeAnthropic,
    client: anthropic.Anthropic,
    status: int,
    error_class: type[anthropic.APIStatusError],
    error_type: str,
) -> None:
    fake.fail_next(status)
    with pytest.raises(error_class) as caught:
        client.messages.create(model=MODEL, max_tokens=10, messages=USER_MESSAGES)
    assert caught.value.status_code == status
    assert caught.value.type == error_type
    assert caught.value.request_id is not None and caught.value.request_id.startswith("req_")
    # the failure is used up: the next call succeeds
    assert client.messages.create(model=MODEL, max_tokens=10, messages=USER_MESSAGES).type == "message"


def test_overloaded_is_an_internal_server_error(fake: FakeAnthropic, client: anthropic.Anthropic) -> None:
    fake.fail_next(529)
    with pytest.raises(anthropic.InternalServerError) as caught:
        client.messages.create(model=MODEL, max_tokens=10, messages=USER_MESSAGES)
    assert caught.value.status_code == 529
    assert caught.value.type == "overloaded_error"


def test_rate_limit_with_retry_after_and_times(fake: FakeAnthropic, client: anthropic.Anthropic) -> None:
    fake.fail_next(429, times=2, retry_after=7)
    for _ in range(2):
        with pytest.raises(anthropic.RateLimitError) as caught:
            client.messages.create(model=MODEL, max_tokens=10, messages=USER_MESSAGES)
        assert caught.value.status_code == 429
        assert caught.value.type == "rate_limit_error"
        assert caught.value.response.headers["retry-after"] == "7"
    assert client.messages.create(model=MODEL, max_tokens=10, messages=USER_MESSAGES).type == "message"


def test_fail_next_custom_type_message_and_should_retry(fake: FakeAnthropic, client: anthropic.Anthropic) -> None:
    fake.fail_next(500, "overloaded_error", message="busy", should_retry=False)
    with pytest.raises(anthropic.InternalServerError) as caught:
        client.messages.create(model=MODEL, max_tokens=10, messages=USER_MESSAGES)
    assert (caught.value.type, caught.value.api_message) == ("overloaded_error", "busy")
    assert caught.value.response.headers["x-should-retry"] == "false"


def test_failures_are_consumed_in_order(fake: FakeAnthropic, client: anthropic.Anthropic) -> None:
    fake.fail_next(429)
    fake.fail_next(529)
    with pytest.raises(anthropic.RateLimitError):
        client.messages.create(model=MODEL, max_tokens=10, messages=USER_MESSAGES)
    with pytest.raises(anthropic.OverloadedError):
        client.messages.create(model=MODEL, max_tokens=10, messages=USER_MESSAGES)
    assert client.messages.create(model=MODEL, max_tokens=10, messages=USER_MESSAGES).type == "message"


def test_sdk_retries_through_a_scripted_failure(fake: FakeAnthropic, make_client: MakeClient) -> None:
    retrying = make_client(fake.base_url, max_retries=1)
    fake.fail_next(529, retry_after=0.01)
    assert retrying.messages.create(model=MODEL, max_tokens=10, messages=USER_MESSAGES).type == "message"
    assert [r.headers["x-stainless-retry-count"] for r in fake.requests] == ["0", "1"]


def test_fail_next_rejects_non_error_statuses(fake: FakeAnthropic) -> None:
    with pytest.raises(ValueError, match="HTTP error status"):
        fake.fail_next(200)


def test_delay_next_slows_the_next_request_only(fake: FakeAnthropic, client: anthropic.Anthropic) -> None:
    fake.delay_next(1.0)
    started = time.monotonic()
    client.messages.create(model=MODEL, max_tokens=10, messages=USER_MESSAGES)
    assert time.monotonic() - started >= 1.0
    # The next one is not delayed (the bound is loose: a loaded machine is slow, but not a second slow).
    started = time.monotonic()
    client.messages.create(model=MODEL, max_tokens=10, messages=USER_MESSAGES)
    assert time.monotonic() - started < 1.0


def test_delay_next_can_time_the_client_out(fake: FakeAnthropic, make_client: MakeClient) -> None:
    impatient = make_client(fake.base_url, timeout=0.2)
    fake.delay_next(10.0)
    started = time.monotonic()
    with pytest.raises(anthropic.APITimeoutError):
        impatient.messages.create(model=MODEL, max_tokens=10, messages=USER_MESSAGES)
    assert time.monotonic() - started < 5


# ---------------------------------------------------------------------------------------------- tool use and caching


def test_forced_tool_use_round_trip(fake: FakeAnthropic, client: anthropic.Anthropic) -> None:
    seen: list[dict[str, Any]] = []

    def verdict(body: dict[str, Any]) -> dict[str, Any]:
        seen.append(body)
        return {"flagged": True, "categories": ["violence"]}

    fake.tool_responder = verdict
    message = client.messages.create(
        model=MODEL,
        max_tokens=256,
        system="Classify the text.",
        messages=USER_MESSAGES,
        tools=[MODERATOR_TOOL],
        tool_choice={"type": "tool", "name": "record_verdict"},
    )
    assert message.stop_reason == "tool_use"
    assert len(message.content) == 1
    block = message.content[0]
    assert isinstance(block, anthropic.types.ToolUseBlock)
    assert block.id.startswith("toolu_01")
    assert block.name == "record_verdict"
    assert block.input == {"flagged": True, "categories": ["violence"]}
    assert seen[0]["tool_choice"] == {"type": "tool", "name": "record_verdict"}
    assert seen[0]["messages"] == USER_MESSAGES


def test_default_tool_responder_returns_empty_input(client: anthropic.Anthropic) -> None:
    message = client.messages.create(
        model=MODEL,
        max_tokens=256,
        messages=USER_MESSAGES,
        tools=[MODERATOR_TOOL],
        tool_choice={"type": "tool", "name": "record_verdict"},
    )
    assert message.content[0].type == "tool_use"
    assert message.content[0].input == {}


def test_tools_without_forced_choice_answer_in_text(client: anthropic.Anthropic) -> None:
    message = client.messages.create(model=MODEL, max_tokens=256, messages=USER_MESSAGES, tools=[MODERATOR_TOOL])
    assert (message.stop_reason, message.content[0].type) == ("end_turn", "text")


def test_tool_choice_of_an_unknown_tool_is_rejected(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(
            model=MODEL,
            max_tokens=10,
            messages=USER_MESSAGES,
            tools=[MODERATOR_TOOL],
            tool_choice={"type": "tool", "name": "nope"},
        )
    assert caught.value.type == "invalid_request_error"


def test_failing_responder_is_a_500_and_is_kept(fake: FakeAnthropic, client: anthropic.Anthropic) -> None:
    def broken(_body: dict[str, Any]) -> str:
        raise RuntimeError("responder bug")

    fake.text_responder = broken
    with pytest.raises(anthropic.InternalServerError) as caught:
        client.messages.create(model=MODEL, max_tokens=10, messages=USER_MESSAGES)
    assert caught.value.type == "api_error"
    assert [str(e) for e in fake.responder_errors] == ["responder bug"]


def _cached_system(text: str) -> list[Any]:
    return [{"type": "text", "text": text, "cache_control": {"type": "ephemeral"}}]


def test_prompt_cache_accounting(client: anthropic.Anthropic) -> None:
    def call(system: Any) -> anthropic.types.Usage:
        return client.messages.create(model=MODEL, max_tokens=64, system=system, messages=USER_MESSAGES).usage

    first = call(_cached_system(LONG_SYSTEM))
    assert first.cache_creation_input_tokens == 360
    assert first.cache_read_input_tokens == 0
    assert first.input_tokens == 8  # the uncached user message after the breakpoint

    second = call(_cached_system(LONG_SYSTEM))
    assert second.cache_creation_input_tokens == 0
    assert second.cache_read_input_tokens == 360
    assert second.input_tokens == 8

    changed = call(_cached_system(LONG_SYSTEM + "Also be kind."))
    assert changed.cache_creation_input_tokens == 364  # ceil(1,453 / 4): a different prefix is written anew
    assert changed.cache_read_input_tokens == 0

    uncached = call([{"type": "text", "text": LONG_SYSTEM}])
    assert (uncached.cache_creation_input_tokens, uncached.cache_read_input_tokens) == (0, 0)
    assert uncached.input_tokens == 368


def test_prompt_cache_is_per_model_and_cleared_by_reset(fake: FakeAnthropic, client: anthropic.Anthropic) -> None:
    def usage(model: str) -> tuple[int | None, int | None]:
        result = client.messages.create(
            model=model, max_tokens=64, system=_cached_system(LONG_SYSTEM), messages=USER_MESSAGES
        ).usage
        return result.cache_creation_input_tokens, result.cache_read_input_tokens

    assert usage(MODEL) == (360, 0)
    assert usage("claude-other-test-model") == (360, 0)
    assert usage(MODEL) == (0, 360)
    fake.reset()
    assert usage(MODEL) == (360, 0)


def test_min_cacheable_tokens_disables_short_prefixes(make_client: MakeClient) -> None:
    with FakeAnthropic(min_cacheable_tokens=1024) as strict:
        strict_client = make_client(strict.base_url)
        for _ in range(2):
            usage = strict_client.messages.create(
                model=MODEL, max_tokens=64, system=_cached_system(LONG_SYSTEM), messages=USER_MESSAGES
            ).usage
            assert (usage.cache_creation_input_tokens, usage.cache_read_input_tokens) == (0, 0)
            assert usage.input_tokens == 368


# ---------------------------------------------------------------------------------------------- streaming


def test_streaming_text_through_the_sdk(fake: FakeAnthropic, client: anthropic.Anthropic) -> None:
    fake.text_responder = lambda _body: "The quick brown fox jumps over the lazy dog."
    with client.messages.stream(model=MODEL, max_tokens=64, messages=USER_MESSAGES) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert "".join(pieces) == "The quick brown fox jumps over the lazy dog."
    assert len(pieces) > 1  # really chunked
    assert final.stop_reason == "end_turn"
    assert final.usage.input_tokens == 8
    assert final.usage.output_tokens == 11
    assert fake.last_request.stream is True


def test_streaming_wire_format(fake: FakeAnthropic) -> None:
    fake.text_responder = lambda _body: "x" * 30
    status, headers, raw = _post(
        fake,
        "/v1/messages",
        {"model": MODEL, "max_tokens": 64, "messages": USER_MESSAGES, "stream": True},
        DIRECT_HEADERS,
    )
    assert status == 200
    assert headers["content-type"].startswith("text/event-stream")
    assert headers["request-id"].startswith("req_")
    events: list[tuple[str, dict[str, Any]]] = []
    for frame in raw.decode().strip().split("\n\n"):
        event_line, data_line = frame.split("\n")
        assert event_line.startswith("event: ") and data_line.startswith("data: ")
        data = json.loads(data_line.removeprefix("data: "))
        assert data["type"] == event_line.removeprefix("event: ")
        events.append((data["type"], data))
    names = [name for name, _ in events]
    assert names == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    start = events[0][1]["message"]
    assert start["content"] == [] and start["stop_reason"] is None and start["model"] == MODEL
    deltas = [data["delta"] for name, data in events if name == "content_block_delta"]
    assert all(d["type"] == "text_delta" for d in deltas)
    assert "".join(d["text"] for d in deltas) == "x" * 30
    message_delta = events[-2][1]
    assert message_delta["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert message_delta["usage"]["output_tokens"] == 8


def test_streaming_tool_use(fake: FakeAnthropic, client: anthropic.Anthropic) -> None:
    fake.tool_responder = lambda _body: {"flagged": False, "categories": []}
    with client.messages.stream(
        model=MODEL,
        max_tokens=64,
        messages=USER_MESSAGES,
        tools=[MODERATOR_TOOL],
        tool_choice={"type": "tool", "name": "record_verdict"},
    ) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    assert final.content[0].type == "tool_use"
    assert final.content[0].input == {"flagged": False, "categories": []}


def test_streaming_errors_before_the_stream_are_json(fake: FakeAnthropic, client: anthropic.Anthropic) -> None:
    fake.fail_next(529)
    with (
        pytest.raises(anthropic.OverloadedError),
        client.messages.stream(model=MODEL, max_tokens=64, messages=USER_MESSAGES) as stream,
    ):
        stream.get_final_message()


# ---------------------------------------------------------------------------------------------- Bedrock


def test_bedrock_invoke_through_anthropic_bedrock(fake: FakeAnthropic, bedrock: anthropic.AnthropicBedrock) -> None:
    message = bedrock.messages.create(model=BEDROCK_MODEL, max_tokens=128, messages=USER_MESSAGES)
    assert message.type == "message"
    assert message.id.startswith("msg_bdrk_01")
    assert message.model == BEDROCK_MODEL
    assert message.content[0].type == "text"
    assert message.content[0].text == "Fake Claude reply to: Hello there, how are you today?"
    assert message.usage.input_tokens == 8

    recorded = fake.last_request
    assert recorded.api == "bedrock"
    assert recorded.path == f"/model/{BEDROCK_MODEL}/invoke"
    assert recorded.model == BEDROCK_MODEL
    assert recorded.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=x/")
    assert "x-amz-date" in recorded.headers
    assert "model" not in recorded.body
    assert "stream" not in recorded.body
    assert isinstance(recorded.body["anthropic_version"], str)
    assert recorded.body["messages"] == USER_MESSAGES


def test_bedrock_model_id_is_url_decoded(fake: FakeAnthropic, bedrock: anthropic.AnthropicBedrock) -> None:
    arn = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-other-test-model-v1:0"
    message = bedrock.messages.create(model=arn, max_tokens=16, messages=USER_MESSAGES)
    assert message.model == arn
    assert fake.last_request.model == arn
    assert "%2F" in fake.last_request.path


def test_bedrock_rate_limit(fake: FakeAnthropic, bedrock: anthropic.AnthropicBedrock) -> None:
    fake.fail_next(429)
    with pytest.raises(anthropic.RateLimitError) as caught:
        bedrock.messages.create(model=BEDROCK_MODEL, max_tokens=16, messages=USER_MESSAGES)
    error = caught.value
    assert error.status_code == 429
    assert error.body == {"message": "Too many requests, please wait before trying again."}
    assert error.response.headers["x-amzn-errortype"] == (
        "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/"
    )
    assert error.response.headers["x-amzn-requestid"]
    assert bedrock.messages.create(model=BEDROCK_MODEL, max_tokens=16, messages=USER_MESSAGES).type == "message"


@pytest.mark.parametrize(
    ("status", "error_class", "bedrock_status", "bedrock_type"),
    [
        (400, anthropic.BadRequestError, 400, "ValidationException"),
        (500, anthropic.InternalServerError, 500, "InternalServerException"),
        (503, anthropic.ServiceUnavailableError, 503, "ServiceUnavailableException"),
        (529, anthropic.ServiceUnavailableError, 503, "ServiceUnavailableException"),
    ],
)
def test_bedrock_errors_use_bedrock_shapes(
    fake: FakeAnthropic,
    bedrock: anthropic.AnthropicBedrock,
    status: int,
    error_class: type[anthropic.APIStatusError],
    bedrock_status: int,
    bedrock_type: str,
) -> None:
    fake.fail_next(status)
    with pytest.raises(error_class) as caught:
        bedrock.messages.create(model=BEDROCK_MODEL, max_tokens=16, messages=USER_MESSAGES)
    assert caught.value.status_code == bedrock_status
    assert caught.value.response.headers["x-amzn-errortype"].split(":")[0] == bedrock_type
    assert isinstance(caught.value.body, dict) and set(caught.value.body) == {"message"}


def test_bedrock_custom_exception_type(fake: FakeAnthropic, bedrock: anthropic.AnthropicBedrock) -> None:
    fake.fail_next(429, "ModelNotReadyException", message="not ready")
    with pytest.raises(anthropic.RateLimitError) as caught:
        bedrock.messages.create(model=BEDROCK_MODEL, max_tokens=16, messages=USER_MESSAGES)
    assert caught.value.response.headers["x-amzn-errortype"].startswith("ModelNotReadyException:")
    assert caught.value.body == {"message": "not ready"}


def test_bedrock_requires_an_authorization_header(fake: FakeAnthropic) -> None:
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 10, "messages": USER_MESSAGES}
    status, headers, raw = _post(fake, f"/model/{BEDROCK_MODEL}/invoke", body)
    assert status == 403
    assert headers["x-amzn-errortype"].startswith("MissingAuthenticationTokenException:")
    assert json.loads(raw) == {"message": "Missing Authentication Token"}

    status, _, _ = _post(fake, f"/model/{BEDROCK_MODEL}/invoke", body, {"authorization": "Bearer bedrock-api-key"})
    assert status == 200


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"max_tokens": 10, "messages": USER_MESSAGES}, "required key [anthropic_version] not found"),
        (
            {"anthropic_version": "bedrock-2023-05-31", "model": MODEL, "max_tokens": 10, "messages": USER_MESSAGES},
            "extraneous key [model] is not permitted",
        ),
        ({"anthropic_version": "bedrock-2023-05-31", "messages": USER_MESSAGES}, "required key [max_tokens] not found"),
        ({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 10, "messages": []}, "at least one message"),
    ],
)
def test_bedrock_validation(fake: FakeAnthropic, body: dict[str, Any], fragment: str) -> None:
    auth = {"authorization": "AWS4-HMAC-SHA256 Credential=x/20250101/us-east-1/bedrock/aws4_request"}
    status, headers, raw = _post(fake, f"/model/{BEDROCK_MODEL}/invoke", body, auth)
    assert status == 400
    assert headers["x-amzn-errortype"].startswith("ValidationException:")
    assert fragment in json.loads(raw)["message"]


def test_bedrock_tool_use_and_cache(fake: FakeAnthropic, bedrock: anthropic.AnthropicBedrock) -> None:
    fake.tool_responder = lambda _body: {"flagged": True, "categories": ["spam"]}

    def call() -> anthropic.types.Message:
        return bedrock.messages.create(
            model=BEDROCK_MODEL,
            max_tokens=64,
            system=_cached_system(LONG_SYSTEM),
            messages=USER_MESSAGES,
            tools=[MODERATOR_TOOL],
            tool_choice={"type": "tool", "name": "record_verdict"},
        )

    first, second = call(), call()
    assert first.content[0].type == "tool_use"
    assert first.content[0].input == {"flagged": True, "categories": ["spam"]}
    assert first.usage.cache_creation_input_tokens is not None and first.usage.cache_creation_input_tokens > 360
    assert second.usage.cache_read_input_tokens == first.usage.cache_creation_input_tokens


def test_bedrock_streaming(fake: FakeAnthropic, bedrock: anthropic.AnthropicBedrock) -> None:
    fake.text_responder = lambda _body: "Streaming from the fake Bedrock."
    with bedrock.messages.stream(model=BEDROCK_MODEL, max_tokens=64, messages=USER_MESSAGES) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "Streaming from the fake Bedrock."
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == 8
    assert fake.last_request.path == f"/model/{BEDROCK_MODEL}/invoke-with-response-stream"
    assert "stream" not in fake.last_request.body


def test_boto3_bedrock_runtime_client(fake: FakeAnthropic) -> None:
    runtime = boto3.client(
        "bedrock-runtime",
        endpoint_url=fake.base_url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="y",
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )
    body = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 32, "messages": USER_MESSAGES})

    response = runtime.invoke_model(modelId=BEDROCK_MODEL, body=body)
    assert response["contentType"] == "application/json"
    payload = json.loads(response["body"].read())
    assert payload["type"] == "message" and payload["model"] == BEDROCK_MODEL

    streamed = runtime.invoke_model_with_response_stream(modelId=BEDROCK_MODEL, body=body)
    events = [json.loads(event["chunk"]["bytes"]) for event in streamed["body"]]
    assert events[0]["type"] == "message_start"
    assert events[-1]["type"] == "message_stop"
    assert events[-1]["amazon-bedrock-invocationMetrics"]["outputTokenCount"] == payload["usage"]["output_tokens"]

    fake.fail_next(429)
    with pytest.raises(ClientError) as caught:
        runtime.invoke_model(modelId=BEDROCK_MODEL, body=body)
    assert caught.value.response["Error"]["Code"] == "ThrottlingException"
    assert caught.value.response["Error"]["Message"] == "Too many requests, please wait before trying again."
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    runtime.close()


def test_eventstream_encoding_round_trips_through_botocore() -> None:
    buffer = EventStreamBuffer()
    buffer.add_data(encode_eventstream_message({":event-type": "chunk", ":message-type": "event"}, b'{"bytes":"e30="}'))
    (message,) = list(buffer)
    assert message.headers == {":event-type": "chunk", ":message-type": "event"}
    assert message.payload == b'{"bytes":"e30="}'


# ---------------------------------------------------------------------------------------------- bookkeeping


def test_requests_are_recorded_thread_safely(fake: FakeAnthropic, make_client: MakeClient) -> None:
    def worker(index: int) -> None:
        local = make_client(fake.base_url)
        local.messages.create(model=MODEL, max_tokens=8, messages=[{"role": "user", "content": f"request {index}"}])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    recorded = fake.wait_for_requests(8, timeout=5)
    for thread in threads:
        thread.join()
    assert sorted(r.body["messages"][0]["content"] for r in recorded) == sorted(f"request {i}" for i in range(8))


def test_wait_for_requests_times_out(fake: FakeAnthropic) -> None:
    with pytest.raises(AssertionError, match="expected 1 requests, got 0"):
        fake.wait_for_requests(1, timeout=0.05)


def test_reset(fake: FakeAnthropic, client: anthropic.Anthropic) -> None:
    fake.text_responder = lambda _body: "custom"
    client.messages.create(model=MODEL, max_tokens=8, messages=USER_MESSAGES)
    fake.fail_next(500)
    fake.delay_next(30)
    fake.reset()
    assert fake.requests == []
    started = time.monotonic()
    message = client.messages.create(model=MODEL, max_tokens=64, messages=USER_MESSAGES)
    assert time.monotonic() - started < 10
    assert message.content[0].type == "text"
    assert message.content[0].text.startswith("Fake Claude reply to:")


def test_requests_snapshot_is_a_copy(fake: FakeAnthropic, client: anthropic.Anthropic) -> None:
    snapshot = fake.requests
    client.messages.create(model=MODEL, max_tokens=8, messages=USER_MESSAGES)
    assert snapshot == []
    assert len(fake.requests) == 1


def test_recorded_request_repr_hides_credentials(fake: FakeAnthropic, client: anthropic.Anthropic) -> None:
    client.messages.create(model=MODEL, max_tokens=8, messages=USER_MESSAGES)
    text = repr(fake.last_request)
    assert DEFAULT_API_KEY not in text
    assert "<redacted>" in text


def test_server_stops_and_releases_its_port(make_client: MakeClient) -> None:
    fake = FakeAnthropic()
    with fake:
        port = fake.port
        keep_alive = make_client(fake.base_url)
        keep_alive.messages.create(model=MODEL, max_tokens=8, messages=USER_MESSAGES)  # leaves a keep-alive connection
    with pytest.raises(RuntimeError, match="not running"):
        _ = fake.base_url
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def _connection_threads(port: int) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == f"fake-anthropic-{port}-conn"]


def test_stop_closes_idle_keep_alive_connections() -> None:
    fake = FakeAnthropic().start()
    port = fake.port
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3)
    try:
        conn.request("GET", "/nowhere")
        response = conn.getresponse()
        assert response.status == 404
        response.read()
        assert conn.sock is not None  # HTTP/1.1 keep-alive: the connection stays open
        assert len(_connection_threads(port)) == 1  # and its handler waits for the next request
        fake.stop()
        assert conn.sock.recv(4096) == b""  # the server closed it (no 3 s timeout)
        assert _connection_threads(port) == []
    finally:
        conn.close()


def test_stop_interrupts_a_pending_delay(make_client: MakeClient) -> None:
    fake = FakeAnthropic().start()
    port = fake.port
    fake.delay_next(30)
    slow = make_client(fake.base_url, timeout=10)
    errors: list[BaseException] = []

    def call() -> None:
        try:
            slow.messages.create(model=MODEL, max_tokens=8, messages=USER_MESSAGES)
        except anthropic.APIError as exc:
            errors.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    fake.wait_for_requests(1)
    started = time.monotonic()
    fake.stop()
    thread.join(timeout=10)
    assert time.monotonic() - started < 8
    assert not thread.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], anthropic.APIConnectionError)
    assert _connection_threads(port) == []  # the handler did not keep sleeping
