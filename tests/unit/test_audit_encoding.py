"""The pure parts of the audit store: the fallback envelope and the partitioned S3 key."""

from __future__ import annotations

import json

from warden.adapters.audit_store import decode_fallback, encode_fallback, record_key
from warden.models import AuditRecord, Decision, ScreeningOutcome, UserStatus


def test_fallback_envelope_round_trips_key_and_body() -> None:
    body = json.dumps({"request_id": "wrq_1", "text": "héllo ✓"}).encode() + b"\x00\xff"

    assert decode_fallback(encode_fallback("records/dt=2025-01-02/hour=03/wrq_1.json", body)) == (
        "records/dt=2025-01-02/hour=03/wrq_1.json",
        body,
    )


def test_fallback_envelope_is_json_with_gzipped_body() -> None:
    # Repetitive records compress well, which is what keeps most of them under the SQS message limit.
    body = b'{"messages": "' + b"a" * 100_000 + b'"}'

    envelope = json.loads(encode_fallback("k", body))

    assert len(envelope["gzip_b64"]) < len(body) // 10
    assert envelope["key"] == "k"


def test_record_key_is_hive_partitioned_by_received_day_and_hour() -> None:
    record = AuditRecord(
        request_id="wrq_01ABC",
        received_at="2025-01-02T03:04:05.678Z",
        completed_at="2025-01-02T03:04:06.000Z",
        tenant_id="tenant-a",
        user_hash="h",
        provider="anthropic",
        model="claude-sonnet-4-5",
        messages=[],
        screening=ScreeningOutcome(decision=Decision.ALLOWED),
        decision=Decision.ALLOWED,
        user_status=UserStatus.ACTIVE,
        warden_version="0.1.0",
    )

    assert record_key(record) == "records/dt=2025-01-02/hour=03/wrq_01ABC.json"
