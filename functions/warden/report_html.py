"""`report.html` of `warden report`: one self-contained page (inline CSS and SVG charts, no script, no CDN).

Rendering only: it takes the `summary.json` document and returns HTML. Every value from the records is
escaped; user ids appear only as the hashes the records hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

BLUE, RED, AMBER, GREY, GREEN = "#2f6fb0", "#c0392b", "#d68910", "#95a5a6", "#1e8449"
_STATUS_COLOURS = {"on": GREEN, "partial": AMBER, "off": RED, "unknown": GREY}
_WIDTH = 860
_LABEL_WIDTH = 190
_BAR_HEIGHT = 18
_GAP = 8

_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:32px auto;max-width:920px;color:#222}
h1{font-size:26px;margin-bottom:4px}h2{font-size:19px;margin-top:34px;border-bottom:1px solid #ddd;padding-bottom:4px}
.sub{color:#666;margin-top:0}.cards{display:flex;gap:12px;flex-wrap:wrap}
.card{border:1px solid #ddd;border-radius:6px;padding:10px 16px;min-width:120px}
.card b{display:block;font-size:22px}.card span{color:#666;font-size:13px}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #eee}
th{background:#f6f6f6}td.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-size:12px}
.note{background:#fff8e1;border-left:4px solid #d68910;padding:8px 12px;margin:10px 0}
.legend span{display:inline-block;margin-right:14px;font-size:12px}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px}
code{font-size:12px}svg text{font-size:11px;fill:#333}
"""


# Shown for a figure with nothing behind it (no requests, no latency measured).
MISSING = "n/a"


def _number(value: float | None, digits: int = 0) -> str:
    if value is None:
        return MISSING
    return f"{value:,.{digits}f}"


def _percent(rate: float | None) -> str:
    return MISSING if rate is None else f"{rate * 100:.1f}%"


def _legend(series: Sequence[tuple[str, str]]) -> str:
    items = "".join(f'<span><i style="background:{colour}"></i>{escape(name)}</span>' for name, colour in series)
    return f'<div class="legend">{items}</div>'


def hbar_chart(rows: Sequence[tuple[str, Sequence[float]]], series: Sequence[tuple[str, str]], unit: str = "") -> str:
    """Horizontal stacked bars, one row per label; `series` names and colours each stacked part."""
    if not rows:
        return '<p class="sub">Nothing to chart.</p>'
    largest = max((sum(values) for _, values in rows), default=0) or 1
    plot = _WIDTH - _LABEL_WIDTH - 80
    height = len(rows) * (_BAR_HEIGHT + _GAP) + _GAP
    parts = [f'<svg width="{_WIDTH}" height="{height}" role="img">']
    for index, (label, values) in enumerate(rows):
        y = _GAP + index * (_BAR_HEIGHT + _GAP)
        parts.append(f'<text x="{_LABEL_WIDTH - 6}" y="{y + 13}" text-anchor="end">{escape(label)}</text>')
        x = float(_LABEL_WIDTH)
        for value, (_, colour) in zip(values, series, strict=True):
            width = plot * value / largest
            parts.append(f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="{_BAR_HEIGHT}" fill="{colour}"/>')
            x += width
        total = sum(values)
        shown = f"{total:,.3f}".rstrip("0").rstrip(".") if unit else f"{total:,.0f}"
        parts.append(f'<text x="{x + 5:.1f}" y="{y + 13}">{escape(shown)}{escape(unit)}</text>')
    parts.append("</svg>")
    return _legend(series) + "".join(parts)


def line_chart(labels: Sequence[str], series: Sequence[tuple[str, str, Sequence[float]]]) -> str:
    """One line per series over `labels` (time buckets), with a y axis from zero."""
    if not labels:
        return '<p class="sub">Nothing to chart.</p>'
    height, left, right, top, bottom = 260, 56, 16, 12, 46
    plot_w, plot_h = _WIDTH - left - right, height - top - bottom
    largest = max((max(values, default=0) for _, _, values in series), default=0) or 1
    step = plot_w / max(len(labels) - 1, 1)

    def point(index: int, value: float) -> str:
        return f"{left + index * step:.1f},{top + plot_h - plot_h * value / largest:.1f}"

    parts = [f'<svg width="{_WIDTH}" height="{height}" role="img">']
    for tick in range(5):
        value = largest * tick / 4
        y = top + plot_h - plot_h * tick / 4
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{_WIDTH - right}" y2="{y:.1f}" stroke="#eee"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{value:,.0f}</text>')
    every = max(1, len(labels) // 12)
    for index, label in enumerate(labels):
        if index % every == 0:
            parts.append(
                f'<text x="{left + index * step:.1f}" y="{height - bottom + 16}" text-anchor="middle">'
                f"{escape(label[5:])}</text>"
            )
    for _, colour, values in series:
        points = " ".join(point(index, value) for index, value in enumerate(values))
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for index, value in enumerate(values):
            cx, cy = point(index, value).split(",")
            parts.append(f'<circle cx="{cx}" cy="{cy}" r="2.5" fill="{colour}"/>')
    parts.append("</svg>")
    return _legend([(name, colour) for name, colour, _ in series]) + "".join(parts)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], numeric_from: int = 1) -> str:
    head = "".join(f"<th>{escape(cell)}</th>" for cell in header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{escape(cell)}</td>' if index >= numeric_from else f"<td>{escape(cell)}</td>"
            for index, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _cards(summary: dict[str, Any]) -> str:
    reviews = summary["reviews"]
    cards = [
        (_number(summary["requests"]), "requests"),
        (_number(summary["blocked"]), f"blocked ({_percent(summary['block_rate'])})"),
        (_number(summary["flagged"]), f"flagged ({_percent(summary['flag_rate'])})"),
        (_number(len(summary["by_tenant"])), "tenants"),
        (_percent(summary["reviewer_overturn_rate"]), f"reviewer overturn rate ({reviews['decided']} decided)"),
    ]
    return (
        '<div class="cards">'
        + "".join(f"<div class='card'><b>{v}</b><span>{escape(k)}</span></div>" for v, k in cards)
        + "</div>"
    )


def _partition_notes(summary: dict[str, Any]) -> str:
    partitions = summary["partitions"]
    notes = []
    if partitions["empty_days"]:
        notes.append("No records at all on: " + ", ".join(partitions["empty_days"]) + ".")
    if partitions["empty_hours"]:
        notes.append(f"{partitions['empty_hours']} of {partitions['hours']} hour partitions in the window are empty.")
    if summary["unreadable_records"]:
        notes.append(f"{summary['unreadable_records']} objects were not valid audit records and were left out.")
    return "".join(f'<p class="note">{escape(note)}</p>' for note in notes)


def _over_time(summary: dict[str, Any]) -> str:
    """Requests, then violations on their own scale (against requests they would be a flat line)."""
    points = summary["over_time"]
    labels = [point["at"] for point in points]
    requests = line_chart(labels, [("requests", BLUE, [point["requests"] for point in points])])
    violations = line_chart(
        labels,
        [
            ("blocked", RED, [point["blocked"] for point in points]),
            ("flagged", AMBER, [point["flagged"] for point in points]),
        ],
    )
    return requests + violations


def _tenants(summary: dict[str, Any]) -> str:
    tenants = summary["by_tenant"]
    chart = hbar_chart(
        [
            (name, [t["requests"] - t["blocked"] - t["flagged"], t["flagged"], t["blocked"]])
            for name, t in sorted(tenants.items(), key=lambda item: -item[1]["requests"])
        ],
        [("served", BLUE), ("flagged", AMBER), ("blocked", RED)],
    )
    rows = [
        (
            name,
            _number(t["requests"]),
            _percent(t["block_rate"]),
            _percent(t["flag_rate"]),
            _number(t["input_tokens"]),
            _number(t["output_tokens"]),
            _number((t["claude_latency_ms"] or {}).get("p50"), 1),
            _number((t["claude_latency_ms"] or {}).get("p99"), 1),
        )
        for name, t in tenants.items()
    ]
    header = (
        "tenant",
        "requests",
        "block rate",
        "flag rate",
        "input tokens",
        "output tokens",
        "Claude p50 ms",
        "p99 ms",
    )
    return chart + _table(header, rows)


def _screeners(summary: dict[str, Any]) -> str:
    screeners = summary["screeners"]
    rows = []
    for name, figures in screeners.items():
        latency = figures["latency_ms"] or {}
        rows.append((f"{name} p50", [latency.get("p50", 0.0)]))
        rows.append((f"{name} p99", [latency.get("p99", 0.0)]))
    chart = hbar_chart(rows, [("latency", BLUE)], unit=" ms")
    table = _table(
        ("screener", "runs", "failures", "skipped", "p50 ms", "p95 ms", "p99 ms"),
        [
            (
                name,
                _number(f["runs"]),
                _number(f["failures"]),
                _number(f["skipped"]),
                *(_number((f["latency_ms"] or {}).get(p), 3) for p in ("p50", "p95", "p99")),
            )
            for name, f in screeners.items()
        ],
    )
    agreement = _table(
        ("screeners", "both ran", "agreed", "both found a violation", "agreement"),
        [
            (
                " / ".join(a["screeners"]),
                _number(a["both_ran"]),
                _number(a["agreed"]),
                _number(a["both_found"]),
                _percent(a["agreement_rate"]),
            )
            for a in summary["screener_agreement"]
        ],
    )
    return chart + table + "<h3>Screener agreement</h3>" + agreement


def _reviews(summary: dict[str, Any]) -> str:
    reviews = summary["reviews"]
    if reviews["source"] is None:
        return (
            f'<p class="note">Reviewer overturn rate needs the review cases table: {escape(reviews["note"] or "")}</p>'
        )
    if not reviews["decided"]:
        return f'<p class="sub">No decided review cases in {escape(reviews["source"])}.</p>'
    by_category = reviews["by_category"]
    chart = hbar_chart(
        [
            (category, [figures["overturn_rate"] * 100])
            for category, figures in by_category.items()
            if figures["overturn_rate"] is not None
        ],
        [("dismissed of confirmed + dismissed", RED)],
        unit="%",
    )
    fp = (
        _table(
            ("category", "screener", "false positives"),
            [(f["category"], f["screener"], _number(f["count"])) for f in reviews["false_positives"]],
            numeric_from=2,
        )
        if reviews["false_positives"]
        else '<p class="sub">The cases table holds no false-positive statistics yet.</p>'
    )
    counts = (
        f"<p>{reviews['decided']} decided cases ({escape(reviews['source'])}): {reviews['confirmed']} confirmed, "
        f"{reviews['dismissed']} dismissed, {reviews['escalated']} escalated.</p>"
    )
    return counts + chart + "<h3>False positives by category and screener</h3>" + fp


def _safeguards(checks: Sequence[dict[str, Any]]) -> str:
    rows = []
    for check in checks:
        colour = _STATUS_COLOURS[check["status"]]
        evidence = "<br>".join(escape(line) for line in check["evidence"])
        rows.append(
            f"<tr><td>{escape(check['tier'])}</td><td>{escape(check['recommendation'])}</td>"
            f'<td><span class="badge" style="background:{colour}">{escape(check["status"])}</span></td>'
            f"<td>{evidence}</td></tr>"
        )
    head = "<tr><th>tier</th><th>recommendation</th><th>status</th><th>evidence</th></tr>"
    return f"<table>{head}{''.join(rows)}</table>"


def render_report(summary: dict[str, Any]) -> str:
    """The whole page."""
    window = summary["window"]
    scope = f" · tenant {window['tenant']}" if window["tenant"] else ""
    categories = hbar_chart(
        [(category, [c["blocked"], c["flagged"]]) for category, c in summary["by_category"].items()],
        [("blocked", RED), ("flagged", AMBER)],
    )
    top_users = _table(
        ("user hash (HMAC; no raw id is stored)", "tenant", "violations", "blocked", "flagged"),
        [
            (
                u["user_hash"][:24] + "…",
                u["tenant_id"],
                _number(u["violations"]),
                _number(u["blocked"]),
                _number(u["flagged"]),
            )
            for u in summary["top_users"]
        ],
        numeric_from=2,
    )
    latency = _table(
        ("stage", "p50 ms", "p95 ms", "p99 ms", "count"),
        [
            (stage, *(_number(p[key], 1) for key in ("p50", "p95", "p99")), _number(p["count"]))
            for stage, p in summary["latency_ms"].items()
            if p
        ],
    )
    sections = [
        "<h1>Warden self-evaluation</h1>",
        f"<p class='sub'>{escape(window['since'])} → {escape(window['until'])}{escape(scope)}"
        f" · by {escape(window['granularity'])}</p>",
        _cards(summary),
        _partition_notes(summary),
        "<h2>Requests and violations over time</h2>",
        _over_time(summary),
        "<h2>Violations by category</h2>",
        categories,
        "<h2>By tenant</h2>",
        _tenants(summary),
        "<h2>Screeners: latency and agreement</h2>",
        _screeners(summary),
        "<h2>Reviewer overturn rate</h2>",
        _reviews(summary),
        "<h2>Latency</h2>",
        latency,
        "<h2>Top users by violations</h2>",
        top_users,
        "<h2>Safeguards checklist</h2>",
        "<p class='sub'>The API safeguard recommendations, and what this deployment's configuration and "
        "records show.</p>",
        _safeguards(summary["safeguards"]),
    ]
    body = "\n".join(sections)
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Warden self-evaluation</title>"
        f"<style>{_CSS}</style></head><body>{body}</body></html>\n"
    )
