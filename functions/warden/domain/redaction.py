"""Redaction of personal data from the prompts and completions an audit record stores.

Applied to the record just before it is written, per tenant (`redaction`, or the deployment's default):
screening and Claude see the text as sent; only what is kept is redacted. Each match becomes
`[redacted:<kind>]`, and the record's notes say how many of each kind were replaced. Checksums (Luhn for
card numbers, mod 97 for IBANs) keep ordinary long numbers out.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from warden.config import PiiKind
from warden.models import AuditRecord

REDACTED_NOTE = "redacted"


def _luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _iban(text: str) -> bool:
    compact = text.replace(" ", "")
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


# Most specific first: an IBAN holds digit runs a card pattern would see, a card number phone-like groups.
_PATTERNS: tuple[tuple[PiiKind, re.Pattern[str], Callable[[str], bool]], ...] = (
    (PiiKind.EMAIL, re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"), lambda _: True),
    (PiiKind.IBAN, re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b"), _iban),
    (PiiKind.CARD, re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])"), lambda m: _luhn(_digits(m))),
    (PiiKind.US_SSN, re.compile(r"\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b"), lambda _: True),
    (
        PiiKind.PHONE,
        # International (+country code) or North American (555) 123-4567 / 555-123-4567 forms.
        re.compile(
            r"(?<![\w+])(?:\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d(?:[ .-]?\d){5,13}"
            r"|\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4})\b"
        ),
        lambda m: 7 <= len(_digits(m)) <= 15,
    ),
    (
        PiiKind.IP_ADDRESS,
        re.compile(r"\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b"),
        lambda _: True,
    ),
)


def redact_text(text: str, kinds: Iterable[PiiKind], counts: Counter[str]) -> str:
    """`text` with every match of `kinds` replaced; `counts` is told how many of each."""
    wanted = set(kinds)
    for kind, pattern, valid in _PATTERNS:
        if kind not in wanted:
            continue

        def replace(match: re.Match[str], kind: PiiKind = kind, valid: Callable[[str], bool] = valid) -> str:
            if not valid(match.group(0)):
                return match.group(0)
            counts[kind.value] += 1
            return f"[redacted:{kind.value}]"

        text = pattern.sub(replace, text)
    return text


def _redact_content(content: Any, kinds: Iterable[PiiKind], counts: Counter[str]) -> Any:
    """A string, or content blocks whose text blocks are redacted (other blocks are kept as they are)."""
    if isinstance(content, str):
        return redact_text(content, kinds, counts)
    if isinstance(content, list):
        return [
            {**block, "text": redact_text(block["text"], kinds, counts)}
            if isinstance(block, dict) and block.get("type") == "text" and isinstance(block.get("text"), str)
            else block
            for block in content
        ]
    return content


def redact_record(record: AuditRecord, kinds: Iterable[PiiKind]) -> AuditRecord:
    """The record with personal data of `kinds` redacted from its system prompt, messages and completion."""
    wanted = tuple(kinds)
    if not wanted:
        return record
    counts: Counter[str] = Counter()
    update: dict[str, Any] = {
        "system": _redact_content(record.system, wanted, counts),
        "messages": [
            {**message, "content": _redact_content(message.get("content"), wanted, counts)}
            for message in record.messages
        ],
    }
    if record.completion is not None:
        content = _redact_content(record.completion.content, wanted, counts)
        update["completion"] = record.completion.model_copy(update={"content": content})
    if not counts:
        return record
    summary = ", ".join(f"{kind} {count}" for kind, count in sorted(counts.items()))
    update["notes"] = [*record.notes, f"{REDACTED_NOTE}: {summary}"]
    return record.model_copy(update=update)
