"""Self-evaluation of the screeners on labelled prompt sets (the `shared/eval` JSON Lines format).

Pure functions: the command line reads the files and runs the screeners; this module turns labelled rows and
the decisions taken on them into recall, false-positive rate and latency, per file and per category.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from warden.taxonomy import Category

ALL = "all"


@dataclass(frozen=True)
class LabelledPrompt:
    id: str
    text: str
    violating: bool
    category: Category | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> LabelledPrompt:
        """A prompt from a parsed JSONL row (ValueError naming an unknown category)."""
        category = row.get("category")
        try:
            known = Category(category) if category else None
        except ValueError:
            raise ValueError(f"unknown category {category!r}; the categories are {', '.join(Category)}") from None
        return cls(
            id=str(row.get("id")),
            text=str(row["text"]),
            violating=row.get("label") == "violating",
            category=known,
        )


@dataclass(frozen=True)
class ScreenedPrompt:
    """What the screeners decided on one labelled prompt."""

    prompt: LabelledPrompt
    decision: str  # "block" | "flag" | "allow"
    categories: tuple[Category, ...]
    latency_ms: float

    @property
    def caught(self) -> bool:
        return self.decision != "allow"


@dataclass(frozen=True)
class Metrics:
    """Counts and rates for one slice: `recall` over violating rows, `false_positive_rate` over allowed rows."""

    violating: int = 0
    caught: int = 0
    category_hits: int = 0  # violating rows whose labelled category is among the verdict's categories
    allowed: int = 0
    false_positives: int = 0
    latency_p50_ms: float = 0.0
    latency_p99_ms: float = 0.0
    recall: float | None = field(default=None)
    category_accuracy: float | None = field(default=None)
    false_positive_rate: float | None = field(default=None)


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def metrics(rows: Iterable[ScreenedPrompt]) -> Metrics:
    rows = list(rows)
    violating = [r for r in rows if r.prompt.violating]
    allowed = [r for r in rows if not r.prompt.violating]
    caught = sum(r.caught for r in violating)
    labelled = [r for r in violating if r.prompt.category is not None]
    hits = sum(r.prompt.category in r.categories for r in labelled)
    false_positives = sum(r.caught for r in allowed)
    latencies = [r.latency_ms for r in rows]
    return Metrics(
        violating=len(violating),
        caught=caught,
        category_hits=hits,
        allowed=len(allowed),
        false_positives=false_positives,
        latency_p50_ms=round(percentile(latencies, 0.50), 3),
        latency_p99_ms=round(percentile(latencies, 0.99), 3),
        recall=_ratio(caught, len(violating)),
        category_accuracy=_ratio(hits, len(labelled)),
        false_positive_rate=_ratio(false_positives, len(allowed)),
    )


def report(rows: Sequence[ScreenedPrompt]) -> dict[str, Metrics]:
    """Metrics for the whole file (`all`) and for each labelled category present in it."""
    result = {ALL: metrics(rows)}
    for category in Category:
        sliced = [r for r in rows if r.prompt.category is category]
        if sliced:
            result[category.value] = metrics(sliced)
    return result


def as_json(reports: dict[str, dict[str, Metrics]]) -> dict[str, dict[str, dict[str, object]]]:
    return {name: {key: asdict(value) for key, value in slices.items()} for name, slices in reports.items()}


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def format_table(reports: dict[str, dict[str, Metrics]]) -> str:
    """A fixed-width table: one row per file and category."""
    header = ("file", "slice", "violating", "recall", "cat. acc.", "allowed", "FP rate", "p50 ms", "p99 ms")
    lines = [header]
    for name, slices in reports.items():
        for key, m in slices.items():
            lines.append(
                (
                    name,
                    key,
                    str(m.violating),
                    _cell(m.recall),
                    _cell(m.category_accuracy),
                    str(m.allowed),
                    _cell(m.false_positive_rate),
                    f"{m.latency_p50_ms:.3f}",
                    f"{m.latency_p99_ms:.3f}",
                )
            )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return (
        "\n".join(
            "  ".join(
                cell.ljust(width) if i < 2 else cell.rjust(width)
                for i, (cell, width) in enumerate(zip(line, widths, strict=True))
            )
            for line in lines
        )
        + "\n"
    )
