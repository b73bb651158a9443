"""What reviewers decided, read from the review cases table for `warden report`.

Decided cases are listed through the `by-status` index (status `decided`) and carry `review_decision`
(`confirm`, `dismiss`, `escalate`). The reviewers' running false-positive counts live in one item,
`STATS#false-positives`, with a number attribute `fp#<category>#<screener>` per pair.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from warden.constants import CASES_STATUS_INDEX, CASES_STATUS_INDEX_PK, CASES_TABLE
from warden.domain.report import ReviewEvidence, ReviewOutcome
from warden.models import CaseStatus

REVIEW_DECISION = "review_decision"
FALSE_POSITIVES_ITEM = "STATS#false-positives"
FALSE_POSITIVE_PREFIX = "fp#"


def _false_positives(item: dict[str, Any]) -> dict[tuple[str, str], int]:
    counts = {}
    for name, value in item.items():
        if name.startswith(FALSE_POSITIVE_PREFIX) and "N" in value:
            category, _, screener = name.removeprefix(FALSE_POSITIVE_PREFIX).partition("#")
            counts[(category, screener)] = int(value["N"])
    return counts


def read_review_evidence(dynamodb: Any, table: str) -> ReviewEvidence:
    """Decided cases and false-positive counts; a table that cannot be read becomes a note, not an error."""
    outcomes = []
    try:
        pages = dynamodb.get_paginator("query").paginate(
            TableName=table,
            IndexName=CASES_STATUS_INDEX,
            KeyConditionExpression="#s = :s",
            ExpressionAttributeNames={"#s": CASES_STATUS_INDEX_PK},
            ExpressionAttributeValues={":s": {"S": CaseStatus.DECIDED.value}},
        )
        for page in pages:
            for item in page.get("Items", []):
                decision = item.get(REVIEW_DECISION, {}).get("S")
                if decision:
                    categories = tuple(value["S"] for value in item.get("categories", {}).get("L", []))
                    outcomes.append(ReviewOutcome(categories, decision))
        stats = dynamodb.get_item(TableName=table, Key={CASES_TABLE.partition_key: {"S": FALSE_POSITIVES_ITEM}})
    except (ClientError, BotoCoreError) as error:
        return ReviewEvidence(note=f"the review cases table {table} could not be read ({error})")
    return ReviewEvidence(
        outcomes=tuple(outcomes), false_positives=_false_positives(stats.get("Item", {})), source=f"table {table}"
    )
