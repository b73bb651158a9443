"""Fixtures shared by every suite."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def load_event(function: str, scenario: str) -> dict[str, Any]:
    """A sample event from `events/<function>/<scenario>.json`."""
    data: dict[str, Any] = json.loads((EVENTS / function / f"{scenario}.json").read_text())
    return data


@pytest.fixture(scope="session")
def cdk_context() -> dict[str, Any]:
    context: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
    return context
