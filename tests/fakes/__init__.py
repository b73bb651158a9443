"""Test doubles for Warden's external dependencies, served over real local HTTP."""

from tests.fakes.anthropic_server import (
    DEFAULT_API_KEY,
    BedrockErrorSpec,
    FakeAnthropic,
    RecordedRequest,
    TextResponder,
    ToolResponder,
    default_text_responder,
    default_tool_responder,
    encode_eventstream_message,
    last_user_text,
)

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
