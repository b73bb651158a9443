"""Personal data is redacted from what the record stores, and only what was asked for."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime

import pytest
from warden.config import PiiKind
from warden.domain.redaction import redact_record, redact_text

from tests.support.audit_records import synthetic_record

ALL = tuple(PiiKind)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("mail me at jane.doe+work@example.co.uk today", PiiKind.EMAIL),
        ("card 4111 1111 1111 1111 exp 12/29", PiiKind.CARD),
        ("card 5500-0000-0000-0004", PiiKind.CARD),
        ("IBAN GB82 WEST 1234 5698 7654 32 please", PiiKind.IBAN),
        ("ssn 123-45-6789", PiiKind.US_SSN),
        ("call +44 20 7946 0958 tomorrow", PiiKind.PHONE),
        ("call (555) 123-4567", PiiKind.PHONE),
        ("server 192.168.10.254 is down", PiiKind.IP_ADDRESS),
    ],
)
def test_each_kind_is_replaced_and_counted(text: str, kind: PiiKind) -> None:
    counts: Counter[str] = Counter()

    redacted = redact_text(text, ALL, counts)

    assert f"[redacted:{kind.value}]" in redacted
    assert counts == Counter({kind.value: 1})


@pytest.mark.parametrize(
    "text",
    [
        "order 4111 1111 1111 1112 failed",  # fails the Luhn check: not a card
        "released on 2025-11-20 at 15:30",
        "version 1.2.3 and 10.0 percent",
        "GB82 WEST 1234 5698 7654 33",  # fails the IBAN checksum
        "the year 1999 had 365 days",
    ],
)
def test_ordinary_numbers_are_left_alone(text: str) -> None:
    counts: Counter[str] = Counter()

    assert redact_text(text, ALL, counts) == text
    assert not counts


def test_only_the_kinds_asked_for_are_redacted() -> None:
    counts: Counter[str] = Counter()

    redacted = redact_text("jane@example.com, +1 415 555 0100", (PiiKind.EMAIL,), counts)

    assert redacted == "[redacted:email], +1 415 555 0100"


def test_record_is_redacted_in_system_messages_and_completion_with_a_note() -> None:
    record = synthetic_record(random.Random(8), datetime(2025, 11, 20, tzinfo=UTC))
    while record.completion is None:
        record = synthetic_record(random.Random(), datetime(2025, 11, 20, tzinfo=UTC))
    record = record.model_copy(
        update={
            "system": "Support agent for ops@acme.example",
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "I am bob@example.com"}, {"type": "image"}]},
                {"role": "assistant", "content": "Noted."},
            ],
            "completion": record.completion.model_copy(
                update={"content": [{"type": "text", "text": "Your card 4111111111111111 is on file."}]}
            ),
        }
    )

    redacted = redact_record(record, (PiiKind.EMAIL, PiiKind.CARD))

    assert redacted.system == "Support agent for [redacted:email]"
    assert redacted.messages[0]["content"] == [{"type": "text", "text": "I am [redacted:email]"}, {"type": "image"}]
    assert redacted.completion is not None
    assert redacted.completion.content[0]["text"] == "Your card [redacted:card] is on file."
    assert redacted.notes[-1] == "redacted: card 1, email 2"
    assert record.system == "Support agent for ops@acme.example"  # the original is untouched


def test_a_record_without_personal_data_is_returned_unchanged() -> None:
    record = synthetic_record(random.Random(9), datetime(2025, 11, 20, tzinfo=UTC))

    assert redact_record(record, ALL) is record
    assert redact_record(record, ()) is record
