"""An event's JSON ``detail`` as an Avro datum of a schema, and back, naming each field that
does not fit.

fastavro's own validation names fields by their record type (``x.Order.total``) and says
nothing useful about a missing field, and its writer silently drops keys the schema does not
have. A schema-governed bus must instead refuse the entry and say which field of ``detail``
broke the schema, so this module walks the schema and the value together:

- ``to_datum(schema, detail)`` returns the datum to write and the problems, one line per
  field (``detail.total: expected double, got string "abc"``,
  ``detail.orderId: required field is missing``, ``detail.extra: not in the schema``);
- ``from_datum(schema, datum)`` turns a datum read back into JSON with the original keys.

Keys that are not Avro names are written under their Avro name when the field carries a
``jsonName`` (as schemas from ``schemas discover`` do: ``order-id`` -> ``order_id``).
A field absent from the detail but with a default in the schema is written with the default,
so it reads back with that value (for discovered schemas: ``null``).

Pure: parsed schemas (``serde.parse_schema``) and values in, values out.
"""

from __future__ import annotations

import json
from typing import Any

_INT_RANGE = {"int": 2**31, "long": 2**63}
_PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})


def to_datum(schema: Any, detail: Any, path: str = "detail") -> tuple[Any, list[str]]:
    """``detail`` as the datum fastavro writes with ``schema``, and what does not fit.

    Args:
        schema: a schema parsed by ``serde.parse_schema``.
        detail: the JSON value.
        path: how the value is named in problems.

    Returns:
        The datum (meaningful only when there are no problems) and the problems.
    """
    problems: list[str] = []
    datum = _convert(schema, detail, path, _named(schema), problems)
    return datum, problems


def from_datum(schema: Any, datum: Any) -> Any:
    """A datum read with ``schema`` as JSON, with each field's ``jsonName`` as its key."""
    return _back(schema, datum, _named(schema))


def _named(schema: Any) -> dict[str, Any]:
    return dict(schema.get("__named_schemas", {})) if isinstance(schema, dict) else {}


def _resolve(schema: Any, named: dict[str, Any]) -> Any:
    if isinstance(schema, str) and schema not in _PRIMITIVES:
        return named.get(schema, schema)
    return schema


def _kind(schema: Any) -> str:
    if isinstance(schema, list):
        return "union"
    if isinstance(schema, dict):
        return str(schema["type"])
    return str(schema)


def _convert(schema: Any, value: Any, path: str, named: dict[str, Any], problems: list[str]) -> Any:
    schema = _resolve(schema, named)
    kind = _kind(schema)
    if kind == "record":
        return _record(schema, value, path, named, problems)
    if kind == "union":
        return _union(schema, value, path, named, problems)
    if kind == "array":
        if not isinstance(value, list):
            return _wrong(problems, path, "array", value)
        return [_convert(schema["items"], item, f"{path}[{i}]", named, problems) for i, item in enumerate(value)]
    if kind == "map":
        if not isinstance(value, dict):
            return _wrong(problems, path, "map (JSON object)", value)
        return {k: _convert(schema["values"], v, f"{path}.{k}", named, problems) for k, v in value.items()}
    if kind == "enum":
        if not isinstance(value, str) or value not in schema["symbols"]:
            problems.append(f"{path}: expected one of {', '.join(schema['symbols'])}, got {_show(value)}")
        return value
    if not _primitive_fits(kind, value):
        return _wrong(problems, path, kind, value)
    return value


def _record(schema: dict[str, Any], value: Any, path: str, named: dict[str, Any], problems: list[str]) -> Any:
    if not isinstance(value, dict):
        return _wrong(problems, path, f"record {schema['name']} (JSON object)", value)
    datum: dict[str, Any] = {}
    known = set()
    for field in schema["fields"]:
        key = field.get("jsonName", field["name"])
        known.add(key)
        if key in value:
            datum[field["name"]] = _convert(field["type"], value[key], f"{path}.{key}", named, problems)
        elif "default" not in field:
            problems.append(f"{path}.{key}: required field is missing")
    for key in value:
        if key not in known:
            problems.append(f"{path}.{key}: not in the schema")
    return datum


def _union(branches: list[Any], value: Any, path: str, named: dict[str, Any], problems: list[str]) -> Any:
    attempts = []
    for branch in branches:
        found: list[str] = []
        datum = _convert(branch, value, path, named, found)
        if not found:
            return datum
        attempts.append((branch, found))
    not_null = [(b, found) for b, found in attempts if _kind(_resolve(b, named)) != "null"]
    if value is not None and len(not_null) == 1:
        problems.extend(not_null[0][1])  # the only branch it could have been: say what is wrong inside it
    else:
        names = ", ".join(_type_name(_resolve(b, named)) for b in branches)
        problems.append(f"{path}: expected one of {names}, got {_show(value)}")
    return value


def _primitive_fits(kind: str, value: Any) -> bool:
    if kind == "null":
        return value is None
    if kind == "boolean":
        return isinstance(value, bool)
    if kind in _INT_RANGE:
        return isinstance(value, int) and not isinstance(value, bool) and -_INT_RANGE[kind] <= value < _INT_RANGE[kind]
    if kind in ("float", "double"):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "string":
        return isinstance(value, str)
    if kind in ("bytes", "fixed"):
        return isinstance(value, (bytes, bytearray))  # JSON has no bytes: such a field cannot be put
    return False


def _type_name(schema: Any) -> str:
    if isinstance(schema, dict):
        return str(schema.get("name") or schema["type"])
    return _kind(schema)


def _wrong(problems: list[str], path: str, expected: str, value: Any) -> Any:
    problems.append(f"{path}: expected {expected}, got {_show(value)}")
    return value


def _show(value: Any) -> str:
    if value is None:
        return "null"
    kind = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}.get(type(value), type(value).__name__)
    if isinstance(value, (dict, list)):
        return kind
    text = json.dumps(value, ensure_ascii=False)
    return f"{kind} {text[:40] + '...' if len(text) > 40 else text}"


def _back(schema: Any, datum: Any, named: dict[str, Any]) -> Any:
    schema = _resolve(schema, named)
    kind = _kind(schema)
    if kind == "record" and isinstance(datum, dict):
        fields = {f["name"]: f for f in schema["fields"]}
        return {fields[k].get("jsonName", k) if k in fields else k: _back(fields[k]["type"], v, named) if k in fields else v
                for k, v in datum.items()}
    if kind == "union":
        return _back(_branch_of(schema, datum, named), datum, named)
    if kind == "array" and isinstance(datum, list):
        return [_back(schema["items"], item, named) for item in datum]
    if kind == "map" and isinstance(datum, dict):
        return {k: _back(schema["values"], v, named) for k, v in datum.items()}
    return datum


def _branch_of(branches: list[Any], datum: Any, named: dict[str, Any]) -> Any:
    """The branch a read datum came from: for a JSON object, the record whose field names it has."""
    if isinstance(datum, dict):
        for branch in branches:
            resolved = _resolve(branch, named)
            if _kind(resolved) == "record" and {f["name"] for f in resolved["fields"]} == set(datum):
                return resolved
            if _kind(resolved) == "map":
                return resolved
    if isinstance(datum, list):
        return next((b for b in branches if _kind(_resolve(b, named)) == "array"), "null")
    return "null"
