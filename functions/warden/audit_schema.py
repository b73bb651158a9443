"""The Athena (Glue) schema of the audit records, generated from `AuditRecord` so the two cannot drift.

Each field of the record model becomes a column; nested models become structs, lists arrays, typed dicts
maps. What the model leaves open (`dict[str, Any]`, unions such as `system`) becomes a `string` holding
the JSON text, which the OpenX JSON SerDe returns for nested values; query it with `json_extract`.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from warden.models import AuditRecord

JSON_SERDE = "org.openx.data.jsonserde.JsonSerDe"
PARTITION_KEYS = ("dt", "hour")  # records/dt=YYYY-MM-DD/hour=HH/ (see warden.constants.audit_record_key)
_SCALARS: dict[type, str] = {str: "string", bool: "boolean", int: "bigint", float: "double"}


@dataclass(frozen=True)
class HiveType:
    """A Glue / Hive column type: a scalar, or an array, map or struct of other types."""

    name: str
    element: HiveType | None = None  # array element, map value
    fields: tuple[tuple[str, HiveType], ...] = ()  # struct fields, in model order

    def ddl(self) -> str:
        if self.name == "array" and self.element is not None:
            return f"array<{self.element.ddl()}>"
        if self.name == "map" and self.element is not None:
            return f"map<string,{self.element.ddl()}>"
        if self.name == "struct":
            return "struct<" + ",".join(f"{name}:{kind.ddl()}" for name, kind in self.fields) + ">"
        return self.name

    def field_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.fields)


JSON_TEXT = HiveType("string")


def _without_none(annotation: Any) -> list[Any]:
    return [arg for arg in get_args(annotation) if arg is not type(None)]


def hive_type(annotation: Any) -> HiveType:
    """The column type of one model annotation."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return hive_type(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        present = _without_none(annotation)
        return hive_type(present[0]) if len(present) == 1 else JSON_TEXT
    if origin is Literal:
        values = get_args(annotation)
        return HiveType("int") if all(isinstance(v, int) for v in values) else HiveType("string")
    if origin in (list, tuple):
        args = [arg for arg in get_args(annotation) if arg is not Ellipsis]
        element = hive_type(args[0])
        return JSON_TEXT if element is JSON_TEXT else HiveType("array", element=element)
    if origin is dict:
        value = hive_type(get_args(annotation)[1])
        return JSON_TEXT if value is JSON_TEXT else HiveType("map", element=value)
    if annotation is Any:
        return JSON_TEXT
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return struct_of(annotation)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return HiveType("string")
    if annotation in _SCALARS:
        return HiveType(_SCALARS[annotation])
    raise TypeError(f"no Athena column type for {annotation!r}: extend warden.audit_schema.hive_type")


def struct_of(model: type[BaseModel]) -> HiveType:
    return HiveType("struct", fields=tuple((name, hive_type(f.annotation)) for name, f in model.model_fields.items()))


def audit_record_columns() -> tuple[tuple[str, HiveType], ...]:
    """The table's columns, in the record's field order (partition keys are separate)."""
    return struct_of(AuditRecord).fields


def column_type(path: str) -> HiveType:
    """The type at a dotted path, e.g. `screening.verdicts`: a query refers to it, so it must exist."""
    current = HiveType("struct", fields=audit_record_columns())
    for part in path.split("."):
        while current.name == "array" and current.element is not None:
            current = current.element
        found = dict(current.fields).get(part)
        if found is None:
            raise KeyError(f"the audit record has no field {path!r}")
        current = found
    return current
