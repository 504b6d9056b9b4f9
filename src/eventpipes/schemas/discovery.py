"""Schema discovery, as EventBridge does it: one schema per ``(source, detail-type)``,
inferred from the events seen on a bus.

Each group yields a JSON Schema Draft 4 document of the whole envelope (``detail`` described
in ``definitions``, with EventBridge's ``x-amazon-events-source`` and
``x-amazon-events-detail-type``) and an Avro schema of ``detail``. The inference only merges
shapes: a field seen with two types gets both, a field missing from some events is not
required. Every Avro field is a union with ``null`` and defaults to null, so the schema of a
later run (a field added, a field no longer seen, a type added) stays BACKWARD compatible and
registers as a new version of the same subject. JSON keys that are not Avro names are
renamed (``order-id`` -> ``order_id``) with the original kept in the field's ``jsonName``.

Pure: events in, schemas out. The CLI reads the bus and registers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from eventpipes.schemas.naming import avro_name, avro_namespace, discovered_subject

JSON_SCHEMA_DRAFT4 = "http://json-schema.org/draft-04/schema#"
_ENVELOPE_STRINGS = ("version", "id", "detail-type", "source", "account", "region")


@dataclass
class Shape:
    """What the values seen at one place in the events looked like (merged, never narrowed)."""

    types: set[str] = field(default_factory=set)
    """JSON Schema type names seen: null, boolean, integer, number, string, object, array."""
    fields: dict[str, Shape] = field(default_factory=dict)
    """For objects: each key's shape, in the order first seen."""
    present: dict[str, int] = field(default_factory=dict)
    """For objects: in how many of the objects each key appeared."""
    objects: int = 0
    """How many objects were seen here."""
    items: Shape | None = None
    """For arrays: the shape of every element."""

    def add(self, value: Any) -> None:
        """Merge one value into the shape."""
        self.types.add(_json_type(value))
        if isinstance(value, dict):
            self.objects += 1
            for key, item in value.items():
                self.fields.setdefault(key, Shape()).add(item)
                self.present[key] = self.present.get(key, 0) + 1
        elif isinstance(value, list):
            self.items = self.items or Shape()
            for item in value:
                self.items.add(item)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "object" if isinstance(value, dict) else "array"


@dataclass(frozen=True, slots=True)
class DiscoveredSchema:
    """The schema of one ``(source, detail-type)``."""

    source: str
    """The events' ``source``."""
    detail_type: str
    """The events' ``detail-type``."""
    subject: str
    """Registry subject (``naming.discovered_subject``)."""
    event_count: int
    """How many events it was inferred from."""
    json_schema: dict[str, Any]
    """JSON Schema Draft 4 of the envelope."""
    avro: dict[str, Any]
    """Avro schema of ``detail``."""


def discover(events: Iterable[Mapping[str, Any]]) -> list[DiscoveredSchema]:
    """Infer one schema per ``(source, detail-type)``; events lacking either are skipped.

    Returns:
        Schemas sorted by subject.
    """
    groups: dict[tuple[str, str], tuple[Shape, int]] = {}
    for event in events:
        source, detail_type = event.get("source"), event.get("detail-type")
        if not isinstance(source, str) or not isinstance(detail_type, str):
            continue
        shape, count = groups.get((source, detail_type), (Shape(), 0))
        shape.add(event.get("detail", {}))
        groups[(source, detail_type)] = (shape, count + 1)
    found = [_schema(source, detail_type, shape, count) for (source, detail_type), (shape, count) in groups.items()]
    return sorted(found, key=lambda s: s.subject)


def _schema(source: str, detail_type: str, detail: Shape, count: int) -> DiscoveredSchema:
    name = avro_name(detail_type.replace(" ", ""))
    return DiscoveredSchema(
        source=source,
        detail_type=detail_type,
        subject=discovered_subject(source, detail_type),
        event_count=count,
        json_schema=envelope_json_schema(source, detail_type, name, detail),
        avro=avro_record(detail, name, avro_namespace(source)),
    )


# -- JSON Schema Draft 4 ------------------------------------------------------------------


def envelope_json_schema(source: str, detail_type: str, name: str, detail: Shape) -> dict[str, Any]:
    """The envelope's JSON Schema, ``detail`` as ``#/definitions/<name>``."""
    properties: dict[str, Any] = {key: {"type": "string"} for key in _ENVELOPE_STRINGS}
    properties["time"] = {"type": "string", "format": "date-time"}
    properties["resources"] = {"type": "array", "items": {"type": "string"}}
    properties["detail"] = {"$ref": f"#/definitions/{name}"}
    return {
        "$schema": JSON_SCHEMA_DRAFT4,
        "title": name,
        "type": "object",
        "required": sorted([*_ENVELOPE_STRINGS, "time", "resources", "detail"]),
        "properties": dict(sorted(properties.items())),
        "definitions": {name: json_schema(detail)},
        "x-amazon-events-source": source,
        "x-amazon-events-detail-type": detail_type,
    }


def json_schema(shape: Shape) -> dict[str, Any]:
    """The Draft 4 schema of one shape."""
    types = sorted(_merged_numbers(shape.types))
    schema: dict[str, Any] = {"type": types[0] if len(types) == 1 else types} if types else {}
    if "object" in shape.types:
        schema["properties"] = {key: json_schema(sub) for key, sub in shape.fields.items()}
        required = [key for key in shape.fields if shape.present.get(key) == shape.objects]
        if required:
            schema["required"] = required
    if "array" in shape.types:
        schema["items"] = json_schema(shape.items) if shape.items and shape.items.types else {}
    return schema


def _merged_numbers(types: set[str]) -> set[str]:
    # An integer is a JSON Schema number: both seen means number.
    return types - {"integer"} if {"integer", "number"} <= types else types


# -- Avro ---------------------------------------------------------------------------------


def avro_record(shape: Shape, name: str, namespace: str) -> dict[str, Any]:
    """An Avro record for an object shape; nested objects become records named by path."""
    fields: list[dict[str, Any]] = []
    used: set[str] = set()
    for key, sub in shape.fields.items():
        field_name = _unique(avro_name(key), used)
        entry: dict[str, Any] = {"name": field_name, "type": _nullable(sub, f"{name}_{field_name}", namespace), "default": None}
        if field_name != key:
            entry["jsonName"] = key
        fields.append(entry)
    return {"type": "record", "name": name, "namespace": namespace, "fields": fields}


def _unique(name: str, used: set[str]) -> str:
    candidate, n = name, 1
    while candidate in used:
        n += 1
        candidate = f"{name}_{n}"
    used.add(candidate)
    return candidate


def _nullable(shape: Shape, name: str, namespace: str) -> list[Any]:
    branches = [b for b in _branches(shape, name, namespace) if b != "null"]
    return ["null", *branches]


def _branches(shape: Shape, name: str, namespace: str) -> list[Any]:
    types = _merged_numbers(shape.types)
    branches: list[Any] = []
    for kind, avro_type in (("boolean", "boolean"), ("integer", "long"), ("number", "double"), ("string", "string")):
        if kind in types:
            branches.append(avro_type)
    if "object" in types:
        branches.append(avro_record(shape, name, namespace))
    if "array" in types:
        items = shape.items if shape.items is not None and shape.items.types else None
        item_branches = _branches(items, f"{name}_item", namespace) if items else []
        if items and "null" in items.types:
            item_branches = ["null", *item_branches]
        branches.append({"type": "array", "items": _single(item_branches)})
    return branches


def _single(branches: list[Any]) -> Any:
    # No element seen: items of type null, which a later version may widen compatibly.
    if not branches:
        return "null"
    return branches[0] if len(branches) == 1 else branches
