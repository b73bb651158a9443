"""The tables are built from the same key shapes the functions and the local stack use."""

from __future__ import annotations

from typing import Any

import pytest
from warden.constants import (
    ACTIONS_USER_INDEX,
    CASES_INDEXES,
    CASES_TABLE,
    IDEMPOTENCY_TABLE,
    TENANTS_TABLE,
    USERS_TABLE,
    TableShape,
)

from tests.infrastructure.synth import SynthesizedStack


def _table(synthesized: SynthesizedStack, name: str) -> dict[str, Any]:
    stack = synthesized.stack
    constructs = {
        "tenants": stack.user_state.tenants_table,
        "users": stack.user_state.users_table,
        "cases": stack.review.cases_table,
        "idempotency": stack.review.idempotency_table,
    }
    properties: dict[str, Any] = synthesized.resources[synthesized.logical_id(constructs[name])]["Properties"]
    return properties


SHAPES = {"tenants": TENANTS_TABLE, "users": USERS_TABLE, "cases": CASES_TABLE, "idempotency": IDEMPOTENCY_TABLE}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_table_keys_and_ttl_match_the_shared_shape(synthesized: SynthesizedStack, name: str) -> None:
    shape: TableShape = SHAPES[name]

    table = _table(synthesized, name)

    expected_keys = [{"AttributeName": shape.partition_key, "KeyType": "HASH"}]
    if shape.sort_key:
        expected_keys.append({"AttributeName": shape.sort_key, "KeyType": "RANGE"})
    assert table["KeySchema"] == expected_keys
    if shape.ttl_attribute:
        assert table["TimeToLiveSpecification"] == {"AttributeName": shape.ttl_attribute, "Enabled": True}
    else:
        assert "TimeToLiveSpecification" not in table


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_table_is_on_demand_recoverable_and_encrypted(synthesized: SynthesizedStack, name: str) -> None:
    table = _table(synthesized, name)

    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["SSESpecification"]["SSEEnabled"] is True


def test_cases_table_has_exactly_the_status_tenant_user_and_reviewer_action_indexes(
    synthesized: SynthesizedStack,
) -> None:
    table = _table(synthesized, "cases")

    assert [index["IndexName"] for index in table["GlobalSecondaryIndexes"]] == [*CASES_INDEXES, ACTIONS_USER_INDEX]
