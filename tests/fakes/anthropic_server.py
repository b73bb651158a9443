"""A faithful, in-process fake of the Anthropic Messages API and of the Bedrock runtime InvokeModel API.

The fake is a real HTTP server (stdlib ``ThreadingHTTPServer`` on ``127.0.0.1``, ephemeral port) so that any client,
including the official ``anthropic`` SDK (which talks through ``httpx2`` and so cannot be intercepted by respx) and
``boto3``'s ``bedrock-runtime`` client, can be pointed at it with a ``base_url`` / ``endpoint_url``::

    with FakeAnthropic() as fake:
        client = anthropic.Anthropic(base_url=fake.base_url, api_key=fake.api_key, max_retries=0)
        client.messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=[{"role": "user", "content": "hi"}])
        assert fake.requests[-1].body["model"] == "claude-sonnet-4-5"

Routes (all ``POST``):

* ``/v1/messages`` (``?beta=true`` accepted): the direct API. Auth is ``x-api-key`` or ``Authorization: Bearer``
  (the installed SDK sends the latter). ``"stream": true`` answers with real server-sent events.
* ``/v1/messages/count_tokens``: ``{"input_tokens": N}`` with the same estimate as ``/v1/messages``.
* ``/model/{modelId}/invoke``: Bedrock InvokeModel as ``anthropic.AnthropicBedrock`` and ``boto3`` send it (the
  model id is URL-encoded in the path; the body carries ``anthropic_version`` and must not carry ``model`` or
  ``stream``). Any ``AWS4-HMAC-SHA256`` (SigV4, signature not verified) or ``Bearer`` (Bedrock API key)
  ``Authorization`` header is accepted; a missing one is rejected like AWS does.
* ``/model/{modelId}/invoke-with-response-stream``: Bedrock streaming, as an ``application/vnd.amazon.eventstream``
  body whose ``chunk`` events carry the base64 Anthropic stream events, like the real service.

Errors use the real shapes: ``{"type": "error", "error": {...}, "request_id": ...}`` plus a ``request-id`` header
on the direct API, and ``{"message": ...}`` plus ``x-amzn-ErrorType`` / ``x-amzn-RequestId`` headers on Bedrock.
The API key is never logged nor echoed in any response.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import copy
import hashlib
import json
import math
import re
import secrets
import socket
import string
import struct
import threading
import time
import urllib.parse
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, cast

__all__ = [
    "DEFAULT_API_KEY",
    "BedrockErrorSpec",
    "FakeAnthropic",
    "RecordedRequest",
    "TextResponder",
    "ToolResponder",
    "default_text_responder",
    "default_tool_responder",
    "encode_eventstream_message",
    "last_user_text",
]

DEFAULT_API_KEY = "sk-ant-fake"

TextResponder = Callable[[dict[str, Any]], str]
ToolResponder = Callable[[dict[str, Any]], dict[str, Any]]
ApiKind = Literal["anthropic", "bedrock", "other"]

_SENSITIVE_HEADERS = frozenset({"x-api-key", "authorization", "x-amz-security-token", "cookie"})
_BASE62 = string.digits + string.ascii_letters
_BEDROCK_MODEL_PATH = re.compile(r"^/model/(?P<model>[^/]+)/(?P<op>invoke|invoke-with-response-stream)$")
_BEDROCK_NS = "http://internal.amazon.com/coral/com.amazon.bedrock/"
_CORAL_NS = "http://internal.amazon.com/coral/com.amazon.coral.service/"
_CHARS_PER_TOKEN = 4
_CHARS_PER_IMAGE = 1600 * _CHARS_PER_TOKEN

# status -> (error.type, error.message) of the direct API.
_ANTHROPIC_ERRORS: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "Invalid request."),
    401: ("authentication_error", "invalid x-api-key"),
    402: ("billing_error", "Your credit balance is too low to access the Anthropic API."),
    403: ("permission_error", "Your API key does not have permission to use the specified resource."),
    404: ("not_found_error", "Not found."),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "This request would exceed your organization's rate limit. Please try again later."),
    500: ("api_error", "Internal server error"),
    504: ("timeout_error", "Request timed out."),
    529: ("overloaded_error", "Overloaded"),
}


@dataclass(frozen=True)
class BedrockErrorSpec:
    """How an Anthropic-style status is expressed by Bedrock: the status Bedrock returns and its exception name."""

    status: int
    error_type: str
    message: str
    namespace: str = _BEDROCK_NS


# Anthropic status -> Bedrock error. Bedrock has no 401 (bad credentials are 403) and no 529 (overload is 503).
_BEDROCK_ERRORS: dict[int, BedrockErrorSpec] = {
    400: BedrockErrorSpec(
        400, "ValidationException", "Malformed input request, please reformat your input and try again."
    ),
    401: BedrockErrorSpec(
        403, "UnrecognizedClientException", "The security token included in the request is invalid.", _CORAL_NS
    ),
    403: BedrockErrorSpec(
        403, "AccessDeniedException", "You don't have access to the model with the specified model ID."
    ),
    404: BedrockErrorSpec(
        404, "ResourceNotFoundException", "Could not resolve the foundation model from the provided model identifier."
    ),
    408: BedrockErrorSpec(
        408, "ModelTimeoutException", "Model has timed out in processing the request. Try your request again."
    ),
    413: BedrockErrorSpec(400, "ValidationException", "Input is too long for requested model."),
    424: BedrockErrorSpec(424, "ModelErrorException", "The model returned an error. Try your request again."),
    429: BedrockErrorSpec(429, "ThrottlingException", "Too many requests, please wait before trying again."),
    500: BedrockErrorSpec(
        500,
        "InternalServerException",
        "The system encountered an unexpected error during processing. Try your request again.",
    ),
    503: BedrockErrorSpec(503, "ServiceUnavailableException", "Bedrock is unable to process your request."),
    529: BedrockErrorSpec(503, "ServiceUnavailableException", "Bedrock is unable to process your request."),
}


# An inline image's limit, on its base64 text, with the API's message for it (as the API reported it in 2025-26).
IMAGE_LIMIT = 5 * 1024 * 1024


def _random_id(prefix: str, length: int = 22) -> str:
    return prefix + "".join(secrets.choice(_BASE62) for _ in range(length))


def _new_request_id() -> str:
    return _random_id("req_011C", 20)


def _tokens(chars: int) -> int:
    """Rough, deterministic token estimate: one token per four characters, rounded up."""
    return math.ceil(max(chars, 0) / _CHARS_PER_TOKEN)


def _json_chars(value: Any) -> int:
    return len(json.dumps(value, sort_keys=True, ensure_ascii=False))


def _block_chars(block: Any) -> int:
    """Characters an input content block contributes to the prompt."""
    if isinstance(block, str):
        return len(block)
    if not isinstance(block, dict):
        return _json_chars(block)
    block_type = block.get("type")
    if block_type == "text":
        return len(str(block.get("text", "")))
    if block_type == "tool_use":
        return len(str(block.get("name", ""))) + _json_chars(block.get("input", {}))
    if block_type == "tool_result":
        return _content_chars(block.get("content", ""))
    if block_type in {"image", "document"}:
        return _CHARS_PER_IMAGE
    if block_type in {"thinking", "redacted_thinking"}:
        return len(str(block.get("thinking", block.get("data", ""))))
    return _json_chars({k: v for k, v in block.items() if k != "cache_control"})


def _content_chars(content: Any) -> int:
    if isinstance(content, list):
        return sum(_block_chars(block) for block in content)
    return _block_chars(content)


def _text_of(content: Any) -> str:
    """The plain text of a message's content (a string, or the text blocks of a block list)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [str(b.get("text", "")) for b in content if isinstance(b, dict) and b.get("type") == "text"]
        return "\n".join(parts)
    return ""


def last_user_text(body: dict[str, Any]) -> str:
    """The text of the last ``user`` message of a Messages request body ("" when there is none)."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return ""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return _text_of(message.get("content"))
    return ""


def default_text_responder(body: dict[str, Any]) -> str:
    """Echo the first 50 characters of the last user text."""
    return f"Fake Claude reply to: {last_user_text(body)[:50]}"


def default_tool_responder(body: dict[str, Any]) -> dict[str, Any]:
    """An empty tool input."""
    return {}


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake received. ``headers`` have lower-cased names; ``body`` is the parsed JSON (or None)."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    raw_body: bytes = field(repr=False)
    api: ApiKind
    model: str | None
    stream: bool
    received_at: float

    @property
    def query(self) -> str:
        return urllib.parse.urlsplit(self.path).query

    def __repr__(self) -> str:
        # Credentials must not end up in assertion messages or logs.
        shown = {k: ("<redacted>" if k in _SENSITIVE_HEADERS else v) for k, v in self.headers.items()}
        return (
            f"RecordedRequest(method={self.method!r}, path={self.path!r}, api={self.api!r}, model={self.model!r}, "
            f"stream={self.stream!r}, headers={shown!r}, body={self.body!r})"
        )


@dataclass
class _Failure:
    status: int
    error_type: str | None
    message: str | None
    retry_after: float | None
    should_retry: bool | None
    remaining: int


@dataclass
class _Reply:
    """What the fake model produced for one request, before it is framed as JSON or as a stream."""

    message_id: str
    model: str
    content: list[dict[str, Any]]
    stop_reason: str
    stop_sequence: str | None
    input_tokens: int
    cache_creation_input_tokens: int
    cache_read_input_tokens: int
    output_tokens: int

    def usage(self) -> dict[str, Any]:
        return {
            "input_tokens": self.input_tokens,
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
            "cache_creation": {
                "ephemeral_5m_input_tokens": self.cache_creation_input_tokens,
                "ephemeral_1h_input_tokens": 0,
            },
            "output_tokens": self.output_tokens,
            "service_tier": "standard",
        }

    def message(self) -> dict[str, Any]:
        return {
            "id": self.message_id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": self.content,
            "stop_reason": self.stop_reason,
            "stop_sequence": self.stop_sequence,
            "usage": self.usage(),
        }


class _ValidationError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _ResponderError(Exception):
    pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a handler sleeping in a scripted delay must not hold up shutdown
    allow_reuse_address = True

    def __init__(self, fake: FakeAnthropic) -> None:
        self.fake = fake
        self.connections: set[socket.socket] = set()
        self.handler_threads: list[threading.Thread] = []
        self.connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        # Like ThreadingMixIn, but the connection threads are named and tracked so stop() can join them.
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name=f"fake-anthropic-{self.server_address[1]}-conn",
            daemon=True,
        )
        with self.connections_lock:
            self.handler_threads = [t for t in self.handler_threads if t.is_alive()]
            self.handler_threads.append(thread)
        thread.start()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up (timeouts, shutdown) are expected; never print tracebacks that could carry headers.
        return


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: avoid 40 ms delayed-ACK stalls
    timeout = 60

    def version_string(self) -> str:
        return "FakeAnthropic"

    @property
    def fake(self) -> FakeAnthropic:
        return cast(_Server, self.server).fake

    def setup(self) -> None:
        super().setup()
        server = cast(_Server, self.server)
        with server.connections_lock:
            server.connections.add(self.connection)
        if self.fake._stopping.is_set():  # accepted while stopping: do not wait for a request that never comes
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)

    def finish(self) -> None:
        server = cast(_Server, self.server)
        with server.connections_lock:
            server.connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        return  # silent: the fake never logs requests (they carry credentials)

    def do_POST(self) -> None:
        self.fake._handle(self)

    def do_GET(self) -> None:
        self.fake._handle(self)

    def do_PUT(self) -> None:
        self.fake._handle(self)

    def do_DELETE(self) -> None:
        self.fake._handle(self)

    def read_body(self) -> bytes:
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size_line = self.rfile.readline()
                size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def send_json(self, status: int, payload: Any, headers: dict[str, str]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def start_chunked(self, content_type: str, headers: dict[str, str]) -> None:
        self.send_response(200)
        self.send_header("content-type", content_type)
        self.send_header("transfer-encoding", "chunked")
        self.send_header("cache-control", "no-cache")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.flush()

    def write_chunk(self, data: bytes) -> None:
        if data:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

    def end_chunked(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def _eventstream_header(name: str, value: str) -> bytes:
    name_bytes, value_bytes = name.encode(), value.encode()
    # header: name length (1 byte), name, value type (7 = string), value length (2 bytes), value
    return struct.pack(">B", len(name_bytes)) + name_bytes + struct.pack(">BH", 7, len(value_bytes)) + value_bytes


def encode_eventstream_message(headers: dict[str, str], payload: bytes) -> bytes:
    """Encode one ``application/vnd.amazon.eventstream`` message (the AWS binary event-stream framing)."""
    header_bytes = b"".join(_eventstream_header(k, v) for k, v in headers.items())
    total_length = 12 + len(header_bytes) + len(payload) + 4
    prelude = struct.pack(">II", total_length, len(header_bytes))
    prelude = prelude + struct.pack(">I", binascii.crc32(prelude) & 0xFFFFFFFF)
    message = prelude + header_bytes + payload
    return message + struct.pack(">I", binascii.crc32(message) & 0xFFFFFFFF)


def _bedrock_chunk(event: dict[str, Any]) -> bytes:
    payload = json.dumps({"bytes": base64.b64encode(json.dumps(event).encode()).decode(), "p": "abcdefghij"}).encode()
    headers = {":event-type": "chunk", ":content-type": "application/json", ":message-type": "event"}
    return encode_eventstream_message(headers, payload)


class FakeAnthropic:
    """A local fake of the Anthropic Messages API and the Bedrock runtime invoke API. See the module docstring."""

    def __init__(
        self,
        api_key: str = DEFAULT_API_KEY,
        *,
        require_anthropic_version: bool = True,
        min_cacheable_tokens: int = 0,
        stream_chunk_chars: int = 12,
        stream_chunk_delay: float = 0.0,
    ) -> None:
        self.api_key = api_key
        self.require_anthropic_version = require_anthropic_version
        self.min_cacheable_tokens = min_cacheable_tokens
        self.stream_chunk_chars = max(1, stream_chunk_chars)
        self.stream_chunk_delay = stream_chunk_delay
        self.latency = 0.0
        self.text_responder: TextResponder = default_text_responder
        self.tool_responder: ToolResponder = default_tool_responder
        self.responder_errors: list[BaseException] = []
        self.server_errors: list[BaseException] = []
        self._lock = threading.Lock()
        self._requests_changed = threading.Condition(self._lock)
        self._requests: list[RecordedRequest] = []
        self._failures: deque[_Failure] = deque()
        self._delays: deque[list[float]] = deque()
        self._prompt_cache: set[str] = set()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"FakeAnthropic(base_url={self.base_url if self._server else None!r})"

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeAnthropic:
        if self._server is not None:
            return self
        self._stopping.clear()
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, name="fake-anthropic", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        with server.connections_lock:
            connections = list(server.connections)
            handler_threads = list(server.handler_threads)
        for conn in connections:  # wake handlers blocked on keep-alive reads
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        deadline = time.monotonic() + 2
        for handler_thread in handler_threads:
            handler_thread.join(timeout=max(0.0, deadline - time.monotonic()))
        self._server = None
        self._thread = None

    close = stop

    def __enter__(self) -> FakeAnthropic:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeAnthropic is not running; use it as a context manager or call start()")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ------------------------------------------------------------------ scripting and inspection

    def fail_next(
        self,
        status: int,
        error_type: str | None = None,
        times: int = 1,
        retry_after: float | None = None,
        *,
        message: str | None = None,
        should_retry: bool | None = None,
    ) -> None:
        """Make the next ``times`` API requests fail with ``status`` and the real error body of each API.

        ``error_type`` overrides the error type: an Anthropic one (``"overloaded_error"``) on the direct API, or a
        Bedrock exception name (anything ending in ``Exception``, e.g. ``"ModelNotReadyException"``) on Bedrock;
        each API ignores the other API's kind and uses its default for the status. On Bedrock the status is
        translated the way Bedrock reports it (401 -> 403 UnrecognizedClientException, 529 -> 503
        ServiceUnavailableException) unless a Bedrock ``error_type`` is given, in which case ``status`` is used as is.
        ``retry_after`` adds a ``retry-after`` header, ``should_retry`` an ``x-should-retry`` header.
        Queued failures are consumed in order, before authentication.
        """
        if not 400 <= status <= 599:
            raise ValueError(f"status must be an HTTP error status, got {status}")
        if times < 1:
            raise ValueError("times must be >= 1")
        with self._lock:
            self._failures.append(_Failure(status, error_type, message, retry_after, should_retry, times))

    def delay_next(self, seconds: float, times: int = 1) -> None:
        """Hold the next ``times`` API requests for ``seconds`` before answering (to simulate slowness/timeouts)."""
        if seconds < 0 or times < 1:
            raise ValueError("seconds must be >= 0 and times >= 1")
        with self._lock:
            self._delays.append([seconds, times])

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def last_request(self) -> RecordedRequest:
        with self._lock:
            if not self._requests:
                raise AssertionError("FakeAnthropic has not received any request")
            return self._requests[-1]

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[RecordedRequest]:
        """Block until at least ``count`` requests were received; raise AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        with self._requests_changed:
            while len(self._requests) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"expected {count} requests, got {len(self._requests)} after {timeout}s")
                self._requests_changed.wait(remaining)
            return list(self._requests)

    def reset(self) -> None:
        """Forget requests, queued failures and delays, the prompt cache and errors; restore responders and latency."""
        with self._lock:
            self._requests.clear()
            self._failures.clear()
            self._delays.clear()
            self._prompt_cache.clear()
            self.responder_errors.clear()
            self.server_errors.clear()
            self.text_responder = default_text_responder
            self.tool_responder = default_tool_responder
            self.latency = 0.0

    # ------------------------------------------------------------------ request handling

    def _handle(self, handler: _Handler) -> None:
        try:
            self._dispatch(handler)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError):
            handler.close_connection = True
        except Exception as exc:  # a bug in the fake: keep it for the test to see, and answer like the API would
            with self._lock:
                self.server_errors.append(exc)
            handler.close_connection = True
            with contextlib.suppress(Exception):
                self._send_anthropic_error(handler, 500, "api_error", "Internal server error")

    def _dispatch(self, handler: _Handler) -> None:
        split = urllib.parse.urlsplit(handler.path)
        raw_path = split.path
        api: ApiKind = "other"
        route = ""
        model: str | None = None
        bedrock_match = _BEDROCK_MODEL_PATH.match(raw_path)
        if raw_path == "/v1/messages":
            api, route = "anthropic", "messages"
        elif raw_path == "/v1/messages/count_tokens":
            api, route = "anthropic", "count_tokens"
        elif bedrock_match is not None:
            api = "bedrock"
            route = "invoke" if bedrock_match["op"] == "invoke" else "invoke_stream"
            model = urllib.parse.unquote(bedrock_match["model"])

        raw_body = handler.read_body()
        try:
            body: Any = json.loads(raw_body) if raw_body else None
        except ValueError:
            body = None
        if api == "anthropic" and isinstance(body, dict) and isinstance(body.get("model"), str):
            model = body["model"]
        stream = route == "invoke_stream" or (
            route == "messages" and isinstance(body, dict) and body.get("stream") is True
        )
        headers = {k.lower(): v for k, v in handler.headers.items()}
        self._record(
            RecordedRequest(handler.command, handler.path, headers, body, raw_body, api, model, stream, time.time())
        )

        if api == "other":
            self._send_anthropic_error(handler, 404, "not_found_error", "Not found.")
            return
        if handler.command != "POST":
            if api == "bedrock":
                self._send_bedrock_error(handler, BedrockErrorSpec(405, "UnknownOperationException", "", _CORAL_NS))
            else:
                self._send_anthropic_error(handler, 405, "invalid_request_error", "Method Not Allowed")
            return

        if not self._wait(self._take_delay()):
            handler.close_connection = True
            return
        failure = self._take_failure()
        if failure is not None:
            self._send_failure(handler, api, failure)
            return

        if api == "anthropic":
            self._serve_anthropic(handler, route, headers, body)
        else:
            self._serve_bedrock(handler, route, headers, body, model or "")

    def _record(self, request: RecordedRequest) -> None:
        with self._requests_changed:
            self._requests.append(request)
            self._requests_changed.notify_all()

    def _take_delay(self) -> float:
        with self._lock:
            delay = self.latency
            if self._delays:
                entry = self._delays[0]
                delay += entry[0]
                entry[1] -= 1
                if entry[1] <= 0:
                    self._delays.popleft()
            return delay

    def _take_failure(self) -> _Failure | None:
        with self._lock:
            if not self._failures:
                return None
            failure = self._failures[0]
            failure.remaining -= 1
            if failure.remaining <= 0:
                self._failures.popleft()
            return failure

    def _wait(self, seconds: float) -> bool:
        """Sleep (interruptibly); False when the fake is shutting down."""
        if seconds <= 0:
            return not self._stopping.is_set()
        return not self._stopping.wait(seconds)

    # ------------------------------------------------------------------ direct API

    def _serve_anthropic(self, handler: _Handler, route: str, headers: dict[str, str], body: Any) -> None:
        if not self._anthropic_key_ok(headers):
            self._send_anthropic_error(handler, 401, "authentication_error", "invalid x-api-key")
            return
        if self.require_anthropic_version and not headers.get("anthropic-version"):
            self._send_anthropic_error(handler, 400, "invalid_request_error", "anthropic-version: header is required")
            return
        try:
            request = self._validate(body, bedrock=False, count_tokens=route == "count_tokens")
        except _ValidationError as exc:
            self._send_anthropic_error(handler, 400, "invalid_request_error", exc.message)
            return
        model = str(request["model"])
        if route == "count_tokens":
            total = self._input_chars(request)
            handler.send_json(200, {"input_tokens": max(1, _tokens(total))}, {"request-id": _new_request_id()})
            return
        try:
            reply = self._reply(request, model, _random_id("msg_01"), record_cache=True)
        except _ResponderError:
            self._send_anthropic_error(handler, 500, "api_error", "Internal server error")
            return
        request_id = _new_request_id()
        if request.get("stream") is True:
            handler.start_chunked("text/event-stream; charset=utf-8", {"request-id": request_id})
            for event in self._stream_events(reply, ping=True):
                if not self._wait(self.stream_chunk_delay):
                    handler.close_connection = True
                    return
                handler.write_chunk(_sse(event["type"], event))
            handler.end_chunked()
            return
        handler.send_json(200, reply.message(), {"request-id": request_id})

    def _anthropic_key_ok(self, headers: dict[str, str]) -> bool:
        api_key = headers.get("x-api-key")
        if api_key is None:
            authorization = headers.get("authorization", "")
            scheme, _, token = authorization.partition(" ")
            api_key = token.strip() if scheme.lower() == "bearer" else None
        return api_key is not None and secrets.compare_digest(api_key.encode(), self.api_key.encode())

    def _send_anthropic_error(
        self,
        handler: _Handler,
        status: int,
        error_type: str,
        message: str,
        extra_headers: dict[str, str] | None = None,
    ) -> None:
        request_id = _new_request_id()
        payload = {"type": "error", "error": {"type": error_type, "message": message}, "request_id": request_id}
        handler.send_json(status, payload, {"request-id": request_id, **(extra_headers or {})})

    # ------------------------------------------------------------------ Bedrock

    def _serve_bedrock(self, handler: _Handler, route: str, headers: dict[str, str], body: Any, model: str) -> None:
        authorization = headers.get("authorization", "")
        if not authorization:
            spec = BedrockErrorSpec(
                403, "MissingAuthenticationTokenException", "Missing Authentication Token", _CORAL_NS
            )
            self._send_bedrock_error(handler, spec)
            return
        if not (authorization.startswith("AWS4-HMAC-SHA256 ") or authorization.lower().startswith("bearer ")):
            spec = BedrockErrorSpec(
                403,
                "IncompleteSignatureException",
                "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters.",
                _CORAL_NS,
            )
            self._send_bedrock_error(handler, spec)
            return
        try:
            request = self._validate(body, bedrock=True, count_tokens=False)
        except _ValidationError as exc:
            self._send_bedrock_error(handler, BedrockErrorSpec(400, "ValidationException", exc.message))
            return
        try:
            reply = self._reply(request, model, _random_id("msg_bdrk_01"), record_cache=True)
        except _ResponderError:
            self._send_bedrock_error(handler, _BEDROCK_ERRORS[500])
            return
        response_headers = {
            "x-amzn-requestid": str(uuid.uuid4()),
            "x-amzn-bedrock-invocation-latency": "1",
            "x-amzn-bedrock-input-token-count": str(reply.input_tokens),
            "x-amzn-bedrock-output-token-count": str(reply.output_tokens),
            "x-amzn-bedrock-cache-read-input-token-count": str(reply.cache_read_input_tokens),
            "x-amzn-bedrock-cache-write-input-token-count": str(reply.cache_creation_input_tokens),
        }
        if route == "invoke_stream":
            stream_headers = {
                "x-amzn-requestid": response_headers["x-amzn-requestid"],
                "x-amzn-bedrock-content-type": "application/json",
            }
            handler.start_chunked("application/vnd.amazon.eventstream", stream_headers)
            for event in self._stream_events(reply, ping=False):
                if not self._wait(self.stream_chunk_delay):
                    handler.close_connection = True
                    return
                frame = event
                if event["type"] == "message_stop":
                    frame = {
                        **event,
                        "amazon-bedrock-invocationMetrics": {
                            "inputTokenCount": reply.input_tokens,
                            "outputTokenCount": reply.output_tokens,
                            "invocationLatency": 1,
                            "firstByteLatency": 1,
                            "cacheReadInputTokenCount": reply.cache_read_input_tokens,
                            "cacheWriteInputTokenCount": reply.cache_creation_input_tokens,
                        },
                    }
                handler.write_chunk(_bedrock_chunk(frame))
            handler.end_chunked()
            return
        handler.send_json(200, reply.message(), response_headers)

    def _send_bedrock_error(
        self, handler: _Handler, spec: BedrockErrorSpec, extra_headers: dict[str, str] | None = None
    ) -> None:
        headers = {
            "x-amzn-requestid": str(uuid.uuid4()),
            "x-amzn-errortype": f"{spec.error_type}:{spec.namespace}",
            **(extra_headers or {}),
        }
        payload = {"message": spec.message} if spec.message else {}
        handler.send_json(spec.status, payload, headers)

    # ------------------------------------------------------------------ scripted failures

    def _send_failure(self, handler: _Handler, api: ApiKind, failure: _Failure) -> None:
        extra: dict[str, str] = {}
        if failure.retry_after is not None:
            value = failure.retry_after
            extra["retry-after"] = str(int(value)) if float(value).is_integer() else str(value)
        if failure.should_retry is not None:
            extra["x-should-retry"] = "true" if failure.should_retry else "false"
        bedrock_type = failure.error_type if failure.error_type and failure.error_type.endswith("Exception") else None
        if api == "bedrock":
            default = _BEDROCK_ERRORS.get(failure.status)
            if default is None:
                fallback = "InternalServerException" if failure.status >= 500 else "ValidationException"
                default = BedrockErrorSpec(failure.status, fallback, "The request failed.")
            if bedrock_type is not None:
                spec = BedrockErrorSpec(failure.status, bedrock_type, failure.message or default.message)
            else:
                spec = BedrockErrorSpec(
                    default.status, default.error_type, failure.message or default.message, default.namespace
                )
            self._send_bedrock_error(handler, spec, extra)
            return
        default_type, default_message = _ANTHROPIC_ERRORS.get(
            failure.status, ("api_error" if failure.status >= 500 else "invalid_request_error", "The request failed.")
        )
        error_type = failure.error_type if failure.error_type and bedrock_type is None else default_type
        if failure.message is not None:
            message = failure.message
        elif error_type == default_type:
            message = default_message
        else:
            message = next((m for t, m in _ANTHROPIC_ERRORS.values() if t == error_type), default_message)
        self._send_anthropic_error(handler, failure.status, error_type, message, extra)

    # ------------------------------------------------------------------ validation and the fake model

    def _validate(self, body: Any, *, bedrock: bool, count_tokens: bool) -> dict[str, Any]:
        """Check a request body like the real API does (minimally); return it, or raise _ValidationError."""
        if not isinstance(body, dict):
            if bedrock:
                raise _ValidationError("Malformed input request, please reformat your input and try again.")
            raise _ValidationError("There was an issue with the request body: it must be a JSON object.")

        def missing(key: str) -> _ValidationError:
            if bedrock:
                return _ValidationError(
                    f"Malformed input request: #: required key [{key}] not found, "
                    "please reformat your input and try again."
                )
            return _ValidationError(f"{key}: Field required")

        if bedrock:
            for key in ("model", "stream"):
                if key in body:
                    raise _ValidationError(
                        f"Malformed input request: #: extraneous key [{key}] is not permitted, "
                        "please reformat your input and try again."
                    )
            version = body.get("anthropic_version")
            if version is None:
                raise missing("anthropic_version")
            if not isinstance(version, str) or not version:
                raise _ValidationError("anthropic_version: Input should be a valid string")
        else:
            if "model" not in body:
                raise missing("model")
            if not isinstance(body["model"], str) or not body["model"]:
                raise _ValidationError("model: Input should be a valid string")
        if not count_tokens:
            if "max_tokens" not in body:
                raise missing("max_tokens")
            max_tokens = body["max_tokens"]
            if not isinstance(max_tokens, int) or isinstance(max_tokens, bool):
                raise _ValidationError("max_tokens: Input should be a valid integer")
            if max_tokens < 1:
                raise _ValidationError("max_tokens: Input should be greater than or equal to 1")
        if "messages" not in body:
            raise missing("messages")
        messages = body["messages"]
        if not isinstance(messages, list):
            raise _ValidationError("messages: Input should be a valid list")
        if not messages:
            raise _ValidationError("messages: at least one message is required")
        for index, message in enumerate(messages):
            if not isinstance(message, dict):
                raise _ValidationError(f"messages.{index}: Input should be a valid dictionary")
            if message.get("role") not in ("user", "assistant"):
                raise _ValidationError(f"messages.{index}.role: Input should be 'user' or 'assistant'")
            if "content" not in message:
                raise _ValidationError(f"messages.{index}.content: Field required")
            if not isinstance(message["content"], str | list):
                raise _ValidationError(f"messages.{index}.content: Input should be a valid string or list")
            for number, block in enumerate(message["content"] if isinstance(message["content"], list) else []):
                source = block.get("source") if isinstance(block, dict) else None
                data = source.get("data") if isinstance(source, dict) and source.get("type") == "base64" else None
                if block.get("type") == "image" and isinstance(data, str) and len(data) > IMAGE_LIMIT:
                    raise _ValidationError(
                        f"messages.{index}.content.{number}.image.source.base64: image exceeds 5 MB maximum: "
                        f"{len(data)} bytes > {IMAGE_LIMIT} bytes"
                    )
        system = body.get("system")
        if system is not None and not isinstance(system, str | list):
            raise _ValidationError("system: Input should be a valid string or list")
        if "stream" in body and not isinstance(body["stream"], bool):
            raise _ValidationError("stream: Input should be a valid boolean")
        tools = body.get("tools")
        tools_ok = isinstance(tools, list) and all(
            isinstance(t, dict) and isinstance(t.get("name"), str) for t in tools
        )
        if tools is not None and not tools_ok:
            raise _ValidationError("tools: each tool must be an object with a name")
        tool_choice = body.get("tool_choice")
        if tool_choice is not None:
            if not isinstance(tool_choice, dict) or tool_choice.get("type") not in ("auto", "any", "tool", "none"):
                raise _ValidationError(
                    "tool_choice: Input should be an object with type 'auto', 'any', 'tool' or 'none'"
                )
            if tool_choice["type"] in ("any", "tool") and not tools:
                raise _ValidationError("tool_choice: tool_choice may only be specified while providing tools.")
            if tool_choice["type"] == "tool":
                names = [t["name"] for t in tools or []]
                if tool_choice.get("name") not in names:
                    raise _ValidationError(f"tool_choice.name: Tool '{tool_choice.get('name')}' not found in tools")
        return body

    def _segments(self, request: dict[str, Any]) -> Iterator[tuple[Any, int, bool]]:
        """The prompt in cache order (tools, system, messages): (block, characters, carries cache_control)."""
        for tool in request.get("tools") or []:
            yield (
                tool,
                _json_chars({k: v for k, v in tool.items() if k != "cache_control"}),
                bool(tool.get("cache_control")),
            )
        system = request.get("system")
        if isinstance(system, str):
            yield system, len(system), False
        elif isinstance(system, list):
            for block in system:
                yield block, _block_chars(block), isinstance(block, dict) and bool(block.get("cache_control"))
        for message in request.get("messages") or []:
            role, content = message.get("role"), message.get("content")
            if isinstance(content, list):
                for block in content:
                    cached = isinstance(block, dict) and bool(block.get("cache_control"))
                    yield [role, block], _block_chars(block), cached
            else:
                yield [role, content], _content_chars(content), False

    def _input_chars(self, request: dict[str, Any]) -> int:
        return sum(chars for _, chars, _ in self._segments(request))

    def _cache_usage(self, request: dict[str, Any], model: str, *, record: bool) -> tuple[int, int, int]:
        """(input_tokens, cache_creation_input_tokens, cache_read_input_tokens), updating the prompt cache.

        Each ``cache_control`` breakpoint caches the prompt prefix ending at it. The longest already-cached prefix is
        read; the rest up to the last breakpoint is written. Prefixes shorter than ``min_cacheable_tokens`` are not
        cached, like the real API's minimum cacheable length.
        """
        digest = hashlib.sha256(model.encode())
        chars = 0
        breakpoints: list[tuple[str, int]] = []  # (prefix key, prefix tokens)
        for block, block_chars, cached in self._segments(request):
            chars += block_chars
            clean = {k: v for k, v in block.items() if k != "cache_control"} if isinstance(block, dict) else block
            if isinstance(clean, list) and len(clean) == 2 and isinstance(clean[1], dict):
                clean = [clean[0], {k: v for k, v in clean[1].items() if k != "cache_control"}]
            digest.update(json.dumps(clean, sort_keys=True).encode() + b"\x1e")
            if cached and _tokens(chars) >= self.min_cacheable_tokens:
                breakpoints.append((digest.copy().hexdigest(), _tokens(chars)))
        total = _tokens(chars)
        if not breakpoints:
            return max(1, total), 0, 0
        with self._lock:
            read = 0
            hit_index = -1
            for index in range(len(breakpoints) - 1, -1, -1):
                if breakpoints[index][0] in self._prompt_cache:
                    read, hit_index = breakpoints[index][1], index
                    break
            if record:
                self._prompt_cache.update(key for key, _ in breakpoints[hit_index + 1 :])
        written = breakpoints[-1][1] - read
        return max(0, total - breakpoints[-1][1]), written, read

    def _reply(self, request: dict[str, Any], model: str, message_id: str, *, record_cache: bool) -> _Reply:
        tools: list[dict[str, Any]] = request.get("tools") or []
        tool_choice = request.get("tool_choice") or {}
        forced_tool: str | None = None
        if tools and tool_choice.get("type") == "tool":
            forced_tool = str(tool_choice["name"])
        elif tools and tool_choice.get("type") == "any":
            forced_tool = str(tools[0]["name"])

        content: list[dict[str, Any]]
        stop_sequence: str | None = None
        if forced_tool is not None:
            tool_input = self._call_responder(self.tool_responder, request, dict)
            content = [{"type": "tool_use", "id": _random_id("toolu_01"), "name": forced_tool, "input": tool_input}]
            stop_reason = "tool_use"
            output_tokens = max(1, _tokens(len(forced_tool) + _json_chars(tool_input)))
        else:
            text = self._call_responder(self.text_responder, request, str)
            stop_reason = "end_turn"
            for sequence in request.get("stop_sequences") or []:
                position = text.find(sequence) if sequence else -1
                if position >= 0:
                    text, stop_reason, stop_sequence = text[:position], "stop_sequence", sequence
                    break
            limit = int(request["max_tokens"]) * _CHARS_PER_TOKEN
            if len(text) > limit:
                text, stop_reason, stop_sequence = text[:limit], "max_tokens", None
            content = [{"type": "text", "text": text}]
            output_tokens = max(1, _tokens(len(text)))

        input_tokens, created, read = self._cache_usage(request, model, record=record_cache)
        return _Reply(
            message_id, model, content, stop_reason, stop_sequence, input_tokens, created, read, output_tokens
        )

    def _call_responder(self, responder: Callable[[dict[str, Any]], Any], request: dict[str, Any], kind: type) -> Any:
        try:
            result = responder(copy.deepcopy(request))
            if not isinstance(result, kind):
                raise TypeError(f"responder returned {type(result).__name__}, expected {kind.__name__}")
        except Exception as exc:
            with self._lock:
                self.responder_errors.append(exc)
            raise _ResponderError from exc
        return result

    def _chunks(self, text: str) -> list[str]:
        size = self.stream_chunk_chars
        return [text[i : i + size] for i in range(0, len(text), size)] or [""]

    def _stream_events(self, reply: _Reply, *, ping: bool) -> Iterator[dict[str, Any]]:
        """The Messages streaming events of a reply, in the order the real API sends them."""
        start_usage = reply.usage()
        start_usage["output_tokens"] = 1
        start = {**reply.message(), "content": [], "stop_reason": None, "stop_sequence": None, "usage": start_usage}
        yield {"type": "message_start", "message": start}
        for index, block in enumerate(reply.content):
            if block["type"] == "tool_use":
                yield {"type": "content_block_start", "index": index, "content_block": {**block, "input": {}}}
                if ping and index == 0:
                    yield {"type": "ping"}
                for part in self._chunks(json.dumps(block["input"])):
                    delta = {"type": "input_json_delta", "partial_json": part}
                    yield {"type": "content_block_delta", "index": index, "delta": delta}
            else:
                yield {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}
                if ping and index == 0:
                    yield {"type": "ping"}
                for part in self._chunks(str(block.get("text", ""))):
                    yield {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": part}}
            yield {"type": "content_block_stop", "index": index}
        delta_usage = {
            "input_tokens": reply.input_tokens,
            "cache_creation_input_tokens": reply.cache_creation_input_tokens,
            "cache_read_input_tokens": reply.cache_read_input_tokens,
            "output_tokens": reply.output_tokens,
        }
        yield {
            "type": "message_delta",
            "delta": {"stop_reason": reply.stop_reason, "stop_sequence": reply.stop_sequence},
            "usage": delta_usage,
        }
        yield {"type": "message_stop"}
