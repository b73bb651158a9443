"""The named Athena queries over the audit records table (Athena engine version 3, Trino SQL).

Every query filters on the `dt` partition (a window of `DAYS` days; edit it in the console to widen it), so
partition projection reads only those days. Column paths are checked against the record model's schema
when the stack is synthesised, and the verdict columns of `UNNEST` come from it, so a renamed field fails
`cdk synth` instead of a query.
"""

from __future__ import annotations

from dataclasses import dataclass

from warden.audit_schema import column_type

DAYS = 30
# The fields a query reads: each must exist in the record model (checked by `named_queries`).
_PATHS = (
    "decision",
    "tenant_id",
    "user_hash",
    "received_at",
    "request_id",
    "latency_ms",
    "completion.usage",
    "screening.blocked_categories",
    "screening.flagged_categories",
    "screening.verdicts",
    "screening.verdicts.screener",
    "screening.verdicts.scores",
    "screening.verdicts.error",
    "screening.verdicts.skipped_reason",
)


@dataclass(frozen=True)
class NamedQuery:
    name: str
    description: str
    sql: str


def _since() -> str:
    return f"dt >= date_format(current_date - interval '{DAYS}' day, '%Y-%m-%d')"


def named_queries(database: str, table: str) -> tuple[NamedQuery, ...]:
    for path in _PATHS:
        column_type(path)
    records = f'"{database}"."{table}"'
    verdict_columns = ", ".join(column_type("screening.verdicts").element.field_names())  # type: ignore[union-attr]
    return (
        NamedQuery(
            "violations-per-category-per-day",
            "Blocked and flagged requests per policy category per day",
            f"""SELECT dt AS day, category, decision, count(*) AS requests
FROM {records}
CROSS JOIN UNNEST(concat(screening.blocked_categories, screening.flagged_categories)) AS c (category)
WHERE {_since()} AND decision IN ('blocked', 'flagged')
GROUP BY dt, category, decision
ORDER BY day, requests DESC""",
        ),
        NamedQuery(
            "block-and-flag-rates-per-tenant",
            "Requests, block rate and flag rate per tenant",
            f"""SELECT tenant_id, count(*) AS requests,
  count_if(decision = 'blocked') AS blocked,
  count_if(decision = 'flagged') AS flagged,
  round(100.0 * count_if(decision = 'blocked') / count(*), 2) AS block_rate_pct,
  round(100.0 * count_if(decision = 'flagged') / count(*), 2) AS flag_rate_pct
FROM {records}
WHERE {_since()}
GROUP BY tenant_id
ORDER BY requests DESC""",
        ),
        NamedQuery(
            "top-users-by-violations",
            "End users (HMAC hashes; no raw id is stored) with the most blocked or flagged requests",
            f"""SELECT tenant_id, user_hash, count(*) AS violations,
  count_if(decision = 'blocked') AS blocked, max(received_at) AS last_violation
FROM {records}
WHERE {_since()} AND decision IN ('blocked', 'flagged')
GROUP BY tenant_id, user_hash
ORDER BY violations DESC
LIMIT 50""",
        ),
        NamedQuery(
            "screener-agreement",
            "How often two screeners that both ran agree on whether a prompt violates the policy (score >= 0.5)",
            f"""WITH verdicts AS (
  SELECT request_id, screener, scores
  FROM {records}
  CROSS JOIN UNNEST(screening.verdicts) AS v ({verdict_columns})
  WHERE {_since()} AND error IS NULL AND skipped_reason IS NULL
), found AS (
  SELECT request_id, screener, cardinality(map_filter(scores, (k, s) -> s >= 0.5)) > 0 AS found
  FROM verdicts
)
SELECT a.screener AS first, b.screener AS second, count(*) AS both_ran,
  count_if(a.found = b.found) AS agreed, count_if(a.found AND b.found) AS both_found,
  round(100.0 * count_if(a.found = b.found) / count(*), 2) AS agreement_pct
FROM found a JOIN found b ON a.request_id = b.request_id AND a.screener < b.screener
GROUP BY a.screener, b.screener""",
        ),
        NamedQuery(
            "screener-failures",
            "Screener runs, failures and skips per day (a failing moderator leaves prompts unchecked)",
            f"""SELECT dt AS day, screener, count(*) AS verdicts,
  count_if(error IS NOT NULL) AS failures, count_if(skipped_reason IS NOT NULL) AS skipped
FROM {records}
CROSS JOIN UNNEST(screening.verdicts) AS v ({verdict_columns})
WHERE {_since()}
GROUP BY dt, screener
ORDER BY day, screener""",
        ),
        NamedQuery(
            "claude-latency-and-tokens-per-tenant",
            "Claude calls, latency percentiles and token use per tenant",
            f"""SELECT tenant_id, count(*) AS calls,
  approx_percentile(element_at(latency_ms, 'claude'), 0.5) AS claude_p50_ms,
  approx_percentile(element_at(latency_ms, 'claude'), 0.99) AS claude_p99_ms,
  sum(CAST(json_extract_scalar(completion.usage, '$.input_tokens') AS bigint)) AS input_tokens,
  sum(CAST(json_extract_scalar(completion.usage, '$.output_tokens') AS bigint)) AS output_tokens
FROM {records}
WHERE {_since()} AND completion IS NOT NULL
GROUP BY tenant_id
ORDER BY calls DESC""",
        ),
    )
