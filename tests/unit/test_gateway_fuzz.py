"""Random mutations of a valid Messages body: the gateway answers each with a result or a Warden error (an
Anthropic-shaped 4xx/5xx), never an unexpected exception, and every audit record it writes serialises."""

from __future__ import annotations

import copy
import json
import random
from typing import Any

from warden.domain.fast_tier import FastTierScreener
from warden.domain.gateway import serve_messages
from warden.errors import WardenError
from warden.models import Tenant

from tests.unit.test_gateway_pipeline import MODEL, pipeline

ATOMS: list[Any] = [None, True, False, 0, -1, 1.5, 10**30, "", "x", "user", "assistant", "text", "image", "document"]
ATOMS += ["tool_result", [], {}, "\u0000", "a" * 300, "\U0001f600", "\ud800"]
KEYS = ["model", "max_tokens", "messages", "metadata", "user_id", "role", "content", "type", "text", "source", "data"]
KEYS += ["system", "stream", "temperature", "tools", "title", "context", "media_type", "cache_control"]
BASE: dict[str, Any] = {
    "model": MODEL,
    "max_tokens": 100,
    "metadata": {"user_id": "fuzz-user"},
    "system": "You are helpful.",
    "messages": [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "hello"},
                {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "a document"}},
            ],
        }
    ],
}


def _value(shuffler: random.Random, depth: int = 0) -> Any:
    if depth > 3 or shuffler.random() < 0.4:
        return shuffler.choice(ATOMS)
    if shuffler.random() < 0.5:
        return [_value(shuffler, depth + 1) for _ in range(shuffler.randint(0, 3))]
    return {shuffler.choice(KEYS): _value(shuffler, depth + 1) for _ in range(shuffler.randint(0, 4))}


def _mutated(shuffler: random.Random) -> dict[str, Any]:
    body = copy.deepcopy(BASE)
    for _ in range(shuffler.randint(1, 3)):
        node: Any = body
        for _ in range(shuffler.randint(0, 4)):
            children = list(node.values()) if isinstance(node, dict) else node
            nested = [child for child in children if isinstance(child, dict | list) and child]
            if not nested:
                break
            node = shuffler.choice(nested)
        if isinstance(node, dict):
            node[shuffler.choice(KEYS)] = _value(shuffler)
        else:
            node.append(_value(shuffler))
    return body


def test_mutated_bodies_get_a_result_or_a_warden_error_and_serialisable_records() -> None:
    shuffler = random.Random(20261122)
    served = refused = 0
    for _ in range(1_500):
        flow = pipeline(screener=FastTierScreener())
        raw = json.dumps(_mutated(shuffler)).encode()
        try:
            serve_messages(raw, Tenant(tenant_id="tenant-a", name="tenant-a"), "wrq_01FUZZ", flow.deps)
            served += 1
        except WardenError:
            refused += 1
        for record in flow.audit.records:
            record.model_dump_json()

    # Both paths were exercised: the mutations are not all refused at the door
    assert served > 100
    assert refused > 100
