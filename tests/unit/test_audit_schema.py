"""The Athena schema is generated from the record model: every field a column, every value its declared type."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from typing import Any

import pytest
from warden.audit_schema import HiveType, audit_record_columns, column_type, hive_type
from warden.models import AuditRecord, RecordedError, ScreenerVerdict, ScreeningOutcome
from warden.taxonomy import Category

from infra.athena_queries import named_queries
from tests.support.audit_records import synthetic_record

NOW = datetime(2025, 11, 20, 15, 30, tzinfo=UTC)


def _full_record() -> dict[str, Any]:
    """A record with every optional part present (output screening, error, system prompt, usage)."""
    record = synthetic_record(random.Random(5), NOW)
    while record.completion is None:
        record = synthetic_record(random.Random(), NOW)
    verdict = ScreenerVerdict(
        screener="moderator", scores={Category.FRAUD_ABUSE: 0.7}, latency_ms=12.5, usage={"input_tokens": 10}
    )
    full = record.model_copy(
        update={
            "template_id": "tpl-1",
            "provider_model_id": "global.anthropic.claude",
            "system": [{"type": "text", "text": "You are helpful."}],
            "request_params": {"temperature": 0.2, "tools": [{"name": "t"}]},
            "output_screening": ScreeningOutcome(
                decision="flagged", flagged_categories=["fraud_abuse"], verdicts=[verdict]
            ),
            "error": RecordedError(status=403, type="permission_error", message="blocked"),
            "notes": ["a note"],
        }
    )
    full.completion.usage["cache_creation"] = {"ephemeral_5m_input_tokens": 0}  # type: ignore[union-attr]
    data: dict[str, Any] = json.loads(full.model_dump_json())
    return data


def _conforms(kind: HiveType, value: Any, path: str) -> None:
    """Whether the JSON SerDe can read `value` as `kind` (null fits every column)."""
    if value is None:
        return
    if kind.name == "string":
        # Scalars are read as text, and nested JSON is kept as its JSON text by the OpenX SerDe.
        return
    if kind.name in ("bigint", "int"):
        assert isinstance(value, int) and not isinstance(value, bool), path
    elif kind.name == "double":
        assert isinstance(value, int | float) and not isinstance(value, bool), path
    elif kind.name == "boolean":
        assert isinstance(value, bool), path
    elif kind.name == "array":
        assert isinstance(value, list), path
        for index, item in enumerate(value):
            _conforms(kind.element, item, f"{path}[{index}]")  # type: ignore[arg-type]
    elif kind.name == "map":
        assert isinstance(value, dict), path
        for key, item in value.items():
            _conforms(kind.element, item, f"{path}.{key}")  # type: ignore[arg-type]
    elif kind.name == "struct":
        assert isinstance(value, dict), path
        assert set(value) == set(kind.field_names()), f"{path}: {sorted(value)} != {kind.field_names()}"
        for name, field_kind in kind.fields:
            _conforms(field_kind, value[name], f"{path}.{name}")
    else:
        pytest.fail(f"{path}: unexpected type {kind.name}")


def test_every_record_field_is_a_column_in_model_order() -> None:
    assert [name for name, _ in audit_record_columns()] == list(AuditRecord.model_fields)


def test_a_full_record_fits_the_table_schema() -> None:
    record = _full_record()

    _conforms(HiveType("struct", fields=audit_record_columns()), record, "record")


def test_open_ended_fields_are_json_text_and_typed_ones_are_not() -> None:
    columns = dict(audit_record_columns())

    assert columns["messages"].ddl() == "string"
    assert columns["system"].ddl() == "string"
    assert columns["latency_ms"].ddl() == "map<string,double>"
    assert column_type("screening.verdicts").ddl().startswith("array<struct<screener:string,scores:map<string,double>")
    assert column_type("completion.usage").ddl() == "string"


def test_an_unknown_field_path_is_refused() -> None:
    with pytest.raises(KeyError, match=r"screening\.verdict"):
        column_type("screening.verdict")


def test_a_type_with_no_column_mapping_fails_loudly() -> None:
    with pytest.raises(TypeError, match="no Athena column type"):
        hive_type(bytes)


def test_queries_unnest_verdicts_with_the_model_field_names() -> None:
    verdict_fields = ", ".join(ScreenerVerdict.model_fields)

    queries = {query.name: query.sql for query in named_queries("db", "records")}

    assert f"AS v ({verdict_fields})" in queries["screener-agreement"]
    assert all('"db"."records"' in sql and "dt >= " in sql for sql in queries.values())
