"""Self-evaluation figures from audit records (`warden report`): plain Python over `AuditRecord`s, no I/O.

Records are added one at a time, so a report over many thousands of them keeps only counters and the
latencies it needs for percentiles. The result is the `summary.json` document (see docs/evaluation.md).
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import combinations
from typing import Any

from warden.domain.redaction import REDACTED_NOTE
from warden.models import AuditRecord, Decision, ScreeningOutcome
from warden.taxonomy import Category

TOP_USERS = 10
# A window of up to two days is charted by the hour; longer ones by the day.
HOURLY_UP_TO = timedelta(days=2)
DEFAULT_THRESHOLD = 0.5
_SINCE = re.compile(r"^\s*(\d+)\s*([hdw])\s*$")
_SINCE_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
_VIOLATIONS = (Decision.BLOCKED, Decision.FLAGGED)
# Review decisions: a dismissed case means the block or flag was wrong (a false positive).
CONFIRM, DISMISS, ESCALATE = "confirm", "dismiss", "escalate"


class InvalidWindowError(ValueError):
    """A `--since` value that is not a number of hours, days or weeks."""


@dataclass(frozen=True)
class Partition:
    """One hour of the audit bucket's time partition (`records/dt=.../hour=.../`)."""

    dt: str
    hour: str

    @property
    def start(self) -> datetime:
        return datetime.strptime(f"{self.dt} {self.hour}", "%Y-%m-%d %H").replace(tzinfo=UTC)


@dataclass(frozen=True)
class ReportWindow:
    start: datetime
    end: datetime

    @classmethod
    def since(cls, text: str, now: datetime) -> ReportWindow:
        """`7d`, `24h`, `2w`: the window ending now."""
        match = _SINCE.match(text)
        if not match or int(match.group(1)) == 0:
            raise InvalidWindowError(f"--since must be a number of hours, days or weeks (24h, 7d, 2w), got {text!r}")
        return cls(start=now - int(match.group(1)) * _SINCE_UNITS[match.group(2)], end=now)

    def partitions(self) -> list[Partition]:
        """Every hour partition the window touches, oldest first."""
        hour = self.start.replace(minute=0, second=0, microsecond=0)
        found = []
        while hour <= self.end:
            found.append(Partition(hour.strftime("%Y-%m-%d"), hour.strftime("%H")))
            hour += timedelta(hours=1)
        return found

    def contains(self, received_at: datetime) -> bool:
        return self.start <= received_at <= self.end

    @property
    def hourly(self) -> bool:
        return self.end - self.start <= HOURLY_UP_TO

    def bucket(self, moment: datetime) -> str:
        """The chart bucket of a moment: its hour or its day."""
        return moment.strftime("%Y-%m-%dT%H:00Z") if self.hourly else moment.strftime("%Y-%m-%d")

    def buckets(self) -> list[str]:
        return list(dict.fromkeys(self.bucket(partition.start) for partition in self.partitions()))


@dataclass(frozen=True)
class ReviewOutcome:
    """One decided review case: what it was about and what the reviewer decided."""

    categories: tuple[str, ...]
    review_decision: str


@dataclass(frozen=True)
class ReviewEvidence:
    """What the review cases table says; `source` names where it came from, `note` why it is missing."""

    outcomes: tuple[ReviewOutcome, ...] = ()
    # False positives per (category, screener), from the reviewers' running statistics.
    false_positives: Mapping[tuple[str, str], int] = field(default_factory=dict)
    source: str | None = None
    note: str | None = None


def parse_received_at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def percentiles(values: Sequence[float]) -> dict[str, float] | None:
    """p50, p95 and p99 by nearest rank; None when there is nothing to measure."""
    if not values:
        return None
    ordered = sorted(values)

    def rank(fraction: float) -> float:
        return round(ordered[max(0, math.ceil(fraction * len(ordered)) - 1)], 3)

    return {"p50": rank(0.50), "p95": rank(0.95), "p99": rank(0.99), "count": len(ordered)}


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _found(outcome: ScreeningOutcome, screener: str, thresholds: Mapping[Category, float]) -> bool | None:
    """Whether one screener found a violation (a score at or over its category's threshold); None if it did not run."""
    for verdict in outcome.verdicts:
        if verdict.screener == screener:
            if not verdict.ran:
                return None
            return any(
                score >= thresholds.get(category, DEFAULT_THRESHOLD) for category, score in verdict.scores.items()
            )
    return None


@dataclass
class _Counts:
    requests: int = 0
    blocked: int = 0
    flagged: int = 0

    def add(self, decision: Decision) -> None:
        self.requests += 1
        self.blocked += decision is Decision.BLOCKED
        self.flagged += decision is Decision.FLAGGED

    def as_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "blocked": self.blocked,
            "flagged": self.flagged,
            "block_rate": _rate(self.blocked, self.requests),
            "flag_rate": _rate(self.flagged, self.requests),
        }


@dataclass
class _TenantFigures:
    counts: _Counts = field(default_factory=_Counts)
    input_tokens: int = 0
    output_tokens: int = 0
    claude_latency: list[float] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            **self.counts.as_json(),
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "claude_latency_ms": percentiles(self.claude_latency),
        }


@dataclass
class _ScreenerFigures:
    runs: int = 0
    failures: int = 0
    skipped: int = 0
    latency: list[float] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "failures": self.failures,
            "skipped": self.skipped,
            "latency_ms": percentiles(self.latency),
        }


@dataclass
class _Agreement:
    both_ran: int = 0
    agreed: int = 0
    both_found: int = 0


class ReportBuilder:
    """Accumulates the figures of one report, one record at a time."""

    def __init__(self, window: ReportWindow, thresholds: Mapping[Category, float] | None = None):
        self.window = window
        self.thresholds = dict(thresholds or {})
        self.decisions: Counter[str] = Counter()
        self.over_time: dict[str, _Counts] = {bucket: _Counts() for bucket in window.buckets()}
        self.categories: dict[str, Counter[str]] = defaultdict(Counter)
        self.tenants: dict[str, _TenantFigures] = defaultdict(_TenantFigures)
        self.users: dict[tuple[str, str], _Counts] = defaultdict(_Counts)
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.screeners: dict[str, _ScreenerFigures] = defaultdict(_ScreenerFigures)
        self.agreement: dict[tuple[str, str], _Agreement] = defaultdict(_Agreement)
        self.user_statuses: Counter[str] = Counter()
        self.claude_calls = 0
        self.claude_message_ids = 0
        self.served_unscreened = 0
        self.templated = 0
        self.redacted = 0
        self.outside_window = 0

    def add(self, record: AuditRecord) -> bool:
        """Count one record; False (and not counted) when it was received outside the window."""
        received = parse_received_at(record.received_at)
        if not self.window.contains(received):
            self.outside_window += 1
            return False
        decision = record.decision
        self.decisions[decision.value] += 1
        self.over_time.setdefault(self.window.bucket(received), _Counts()).add(decision)
        tenant = self.tenants[record.tenant_id]
        tenant.counts.add(decision)
        self.user_statuses[record.user_status.value] += 1
        if decision in _VIOLATIONS:
            self.users[(record.tenant_id, record.user_hash)].add(decision)
            for category in self._categories(record):
                self.categories[category][decision.value] += 1
        for name, value in record.latency_ms.items():
            self.latency[name].append(value)
        if record.completion is not None:
            self.claude_calls += 1
            self.claude_message_ids += record.claude_message_id is not None
            tenant.input_tokens += int(record.completion.usage.get("input_tokens") or 0)
            tenant.output_tokens += int(record.completion.usage.get("output_tokens") or 0)
            if "claude" in record.latency_ms:
                tenant.claude_latency.append(record.latency_ms["claude"])
            if not any(verdict.ran for verdict in record.screening.verdicts):
                self.served_unscreened += 1
        self.templated += record.template_id is not None
        self.redacted += any(note.startswith(REDACTED_NOTE) for note in record.notes)
        self._add_screening(record.screening)
        return True

    @staticmethod
    def _categories(record: AuditRecord) -> set[str]:
        found = {category.value for category in record.screening.categories}
        if record.output_screening is not None:
            found.update(category.value for category in record.output_screening.categories)
        return found

    def _add_screening(self, outcome: ScreeningOutcome) -> None:
        for verdict in outcome.verdicts:
            figures = self.screeners[verdict.screener]
            if verdict.failed:
                figures.failures += 1
            elif verdict.skipped_reason is not None:
                figures.skipped += 1
            else:
                figures.runs += 1
                figures.latency.append(verdict.latency_ms)
        names = sorted({verdict.screener for verdict in outcome.verdicts})
        for first, second in combinations(names, 2):
            found = (_found(outcome, first, self.thresholds), _found(outcome, second, self.thresholds))
            if None in found:
                continue
            pair = self.agreement[(first, second)]
            pair.both_ran += 1
            pair.agreed += found[0] == found[1]
            pair.both_found += found[0] is True and found[1] is True

    @property
    def requests(self) -> int:
        return sum(self.decisions.values())

    def summary(
        self,
        reviews: ReviewEvidence,
        empty_partitions: Iterable[Partition] = (),
        tenant: str | None = None,
        unreadable: int = 0,
    ) -> dict[str, Any]:
        """The `summary.json` document."""
        requests = self.requests
        blocked = self.decisions[Decision.BLOCKED.value]
        flagged = self.decisions[Decision.FLAGGED.value]
        empty = list(empty_partitions)
        return {
            "window": {
                "since": self.window.start.isoformat(),
                "until": self.window.end.isoformat(),
                "tenant": tenant,
                "granularity": "hour" if self.window.hourly else "day",
            },
            "requests": requests,
            "blocked": blocked,
            "flagged": flagged,
            "allowed": self.decisions[Decision.ALLOWED.value],
            "block_rate": _rate(blocked, requests),
            "flag_rate": _rate(flagged, requests),
            "by_decision": dict(sorted(self.decisions.items())),
            "by_category": {
                category: {"blocked": counts[Decision.BLOCKED.value], "flagged": counts[Decision.FLAGGED.value]}
                for category, counts in sorted(self.categories.items(), key=lambda item: -sum(item[1].values()))
            },
            "by_tenant": {name: figures.as_json() for name, figures in sorted(self.tenants.items())},
            "over_time": [{"at": bucket, **counts.as_json()} for bucket, counts in sorted(self.over_time.items())],
            "top_users": self._top_users(),
            "user_status": dict(sorted(self.user_statuses.items())),
            "latency_ms": {name: percentiles(values) for name, values in sorted(self.latency.items())},
            "screeners": {name: figures.as_json() for name, figures in sorted(self.screeners.items())},
            "screener_agreement": [
                {
                    "screeners": list(pair),
                    "both_ran": figures.both_ran,
                    "agreed": figures.agreed,
                    "both_found": figures.both_found,
                    "agreement_rate": _rate(figures.agreed, figures.both_ran),
                }
                for pair, figures in sorted(self.agreement.items())
            ],
            "claude": {
                "calls": self.claude_calls,
                "with_message_id": self.claude_message_ids,
                "served_unscreened": self.served_unscreened,
            },
            "templated_requests": self.templated,
            "redacted_records": self.redacted,
            **review_figures(reviews),
            "partitions": {
                "hours": len(self.window.partitions()),
                "empty_hours": len(empty),
                "empty_days": _empty_days(self.window.partitions(), empty),
            },
            "unreadable_records": unreadable,
        }

    def _top_users(self) -> list[dict[str, Any]]:
        ranked = sorted(self.users.items(), key=lambda item: (-(item[1].blocked + item[1].flagged), item[0]))
        return [
            {
                "user_hash": user_hash,
                "tenant_id": tenant_id,
                "violations": counts.blocked + counts.flagged,
                "blocked": counts.blocked,
                "flagged": counts.flagged,
            }
            for (tenant_id, user_hash), counts in ranked[:TOP_USERS]
        ]


def _empty_days(partitions: Sequence[Partition], empty: Sequence[Partition]) -> list[str]:
    """Days of the window with no record in any of their hours."""
    hours_per_day = Counter(partition.dt for partition in partitions)
    empty_per_day = Counter(partition.dt for partition in empty)
    return sorted(day for day, hours in hours_per_day.items() if empty_per_day[day] == hours)


def review_figures(reviews: ReviewEvidence) -> dict[str, Any]:
    """The reviewer overturn rate (dismissed of confirmed + dismissed), overall and per category."""
    decisions = Counter(outcome.review_decision for outcome in reviews.outcomes)
    per_category: dict[str, Counter[str]] = defaultdict(Counter)
    for outcome in reviews.outcomes:
        for category in outcome.categories:
            per_category[category][outcome.review_decision] += 1
    judged = decisions[CONFIRM] + decisions[DISMISS]
    return {
        "reviewer_overturn_rate": _rate(decisions[DISMISS], judged),
        "reviews": {
            "source": reviews.source,
            "note": reviews.note,
            "decided": len(reviews.outcomes),
            "confirmed": decisions[CONFIRM],
            "dismissed": decisions[DISMISS],
            "escalated": decisions[ESCALATE],
            "by_category": {
                category: {
                    "confirmed": counts[CONFIRM],
                    "dismissed": counts[DISMISS],
                    "overturn_rate": _rate(counts[DISMISS], counts[CONFIRM] + counts[DISMISS]),
                }
                for category, counts in sorted(per_category.items())
            },
            "false_positives": [
                {"category": category, "screener": screener, "count": count}
                for (category, screener), count in sorted(reviews.false_positives.items())
            ],
        },
    }
