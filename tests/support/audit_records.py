"""Synthetic audit records for `warden report` tests and its benchmark: realistic mixes, reproducible counts."""

from __future__ import annotations

import random
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from warden.adapters.audit_store import record_key
from warden.domain.identity import hash_user_id
from warden.ids import new_request_id
from warden.models import (
    AuditRecord,
    Completion,
    Decision,
    ScreenerVerdict,
    ScreeningOutcome,
    UserStatus,
)
from warden.taxonomy import Category

TENANTS = ("acme", "globex", "initech")
USERS_PER_TENANT = 60
BLOCKING = (Category.WEAPONS_ILLEGAL_GOODS, Category.FRAUD_ABUSE, Category.VIOLENCE_HATE, Category.PLATFORM_ABUSE)
FLAGGING = (Category.MISINFORMATION, Category.ELECTIONS, Category.SEXUAL_CONTENT)
_HASH_KEY = b"synthetic-report-key"


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _verdicts(rng: random.Random, category: Category | None, blocked: bool) -> list[ScreenerVerdict]:
    # Confident on what it blocks; on flagged prompts a mere suspicion, sometimes under the threshold.
    fast_scores = {category: round(rng.uniform(0.9, 1.0) if blocked else rng.uniform(0.2, 0.8), 3)} if category else {}
    fast = ScreenerVerdict(screener="fast", scores=fast_scores, latency_ms=round(rng.uniform(0.05, 0.6), 3))
    if blocked:
        # A confident fast-tier block skips the paid moderator call.
        return [fast, ScreenerVerdict(screener="moderator", skipped_reason="fast tier blocked confidently")]
    if rng.random() < 0.01:
        return [fast, ScreenerVerdict(screener="moderator", error="timeout", latency_ms=8000.0)]
    moderator_scores = {category: round(rng.uniform(0.6, 0.95), 3)} if category else {}
    usage = {"input_tokens": rng.randint(900, 1400), "output_tokens": rng.randint(20, 60)}
    moderator = ScreenerVerdict(
        screener="moderator", scores=moderator_scores, latency_ms=round(rng.uniform(250, 900), 1), usage=usage
    )
    return [fast, moderator]


def synthetic_record(rng: random.Random, received: datetime) -> AuditRecord:
    tenant = rng.choice(TENANTS)
    # Skewed: a few users commit most violations, as in real traffic.
    user = int(rng.random() ** 3 * USERS_PER_TENANT)
    roll = rng.random()
    category: Category | None = None
    decision = Decision.ALLOWED
    if roll < 0.07:
        decision, category = Decision.BLOCKED, rng.choice(BLOCKING)
    elif roll < 0.12:
        decision, category = Decision.FLAGGED, rng.choice(FLAGGING)
    elif roll < 0.13:
        decision = Decision.SUSPENDED
    verdicts = [] if decision is Decision.SUSPENDED else _verdicts(rng, category, decision is Decision.BLOCKED)
    outcome = ScreeningOutcome(
        decision=decision,
        blocked_categories=[category] if category and decision is Decision.BLOCKED else [],
        flagged_categories=[category] if category and decision is Decision.FLAGGED else [],
        verdicts=verdicts,
        latency_ms=round(sum(v.latency_ms for v in verdicts), 3),
    )
    served = decision in (Decision.ALLOWED, Decision.FLAGGED)
    latency = {"total": 0.0, "screening": outcome.latency_ms}
    completion = None
    message_id = None
    if served:
        latency["claude"] = round(rng.uniform(400, 3000), 1)
        message_id = f"msg_{rng.getrandbits(64):016x}"
        completion = Completion(
            message_id=message_id,
            model="claude-haiku-4-5",
            content=[{"type": "text", "text": "A synthetic answer."}],
            stop_reason="end_turn",
            usage={"input_tokens": rng.randint(20, 600), "output_tokens": rng.randint(50, 900)},
        )
    latency["total"] = round(latency["screening"] + latency.get("claude", 0.0) + rng.uniform(5, 30), 1)
    status = UserStatus.SUSPENDED if decision is Decision.SUSPENDED else UserStatus.ACTIVE
    return AuditRecord(
        request_id=new_request_id(int(received.timestamp() * 1000)),
        received_at=_iso(received),
        completed_at=_iso(received + timedelta(milliseconds=latency["total"])),
        tenant_id=tenant,
        user_hash=hash_user_id(_HASH_KEY, tenant, f"user-{user}"),
        provider="anthropic",
        model="claude-haiku-4-5",
        messages=[{"role": "user", "content": "A synthetic prompt."}],
        screening=outcome,
        decision=decision,
        user_status=status,
        completion=completion,
        claude_message_id=message_id,
        latency_ms=latency,
        warden_version="0.1.0",
    )


def synthetic_records(
    count: int, now: datetime, days: int = 7, seed: int = 7, skip_days: Sequence[int] = ()
) -> list[AuditRecord]:
    """`count` records spread over the `days` before `now`; no records `skip_days` days back (0 = today)."""
    rng = random.Random(seed)
    records = []
    while len(records) < count:
        received = now - timedelta(seconds=rng.uniform(0, days * 86_400 - 1))
        if (now.date() - received.date()).days in skip_days:
            continue
        records.append(synthetic_record(rng, received))
    return records


def upload_records(s3: Any, bucket: str, records: Sequence[AuditRecord], workers: int = 16) -> None:
    """Write the records under their audit keys, as the gateway does (in parallel: thousands take a while)."""

    def put(record: AuditRecord) -> None:
        s3.put_object(Bucket=bucket, Key=record_key(record), Body=record.model_dump_json().encode())

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(put, records))
