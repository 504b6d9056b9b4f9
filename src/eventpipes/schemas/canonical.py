"""Avro schema text parsed, checked and put in one canonical form.

Two texts that parse to the same schema (whitespace, key order, redundant namespaces) have the
same canonical text, so registering either returns the same id. The canonical form is the
parsed schema written back as compact JSON, keeping docs, defaults, aliases, logical types and
custom properties: Avro's Parsing Canonical Form would drop defaults, which carry meaning for
compatibility, so it is not used as the identity. ``normalize=True`` (Confluent's
``?normalize=true``) also sorts the keys of every JSON object, so custom properties given in a
different order compare equal too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import avro.errors
import avro.schema

from eventpipes.schemas.errors import InvalidSchema


@dataclass(frozen=True, slots=True)
class AvroSchema:
    """A valid Avro schema in canonical form."""

    text: str
    """Canonical JSON text: the registry's identity for the schema and what it returns."""
    parsed: avro.schema.Schema = field(compare=False, repr=False)
    """The ``avro`` library's object, for compatibility checks."""

    @property
    def name(self) -> str | None:
        """Full name of a named schema (record, enum, fixed), else ``None``."""
        fullname = getattr(self.parsed, "fullname", None)
        return str(fullname) if fullname else None


def parse(text: str, *, normalize: bool = False) -> AvroSchema:
    """Parse Avro schema JSON text.

    Raises:
        InvalidSchema: not JSON, or not a valid Avro schema.
    """
    try:
        parsed = avro.schema.parse(text)
    except (avro.errors.AvroException, json.JSONDecodeError, TypeError, ValueError, KeyError, AttributeError) as exc:
        raise InvalidSchema(str(exc) or type(exc).__name__) from exc
    body = parsed.to_json()
    if normalize:
        body = _sorted(body)
    return AvroSchema(json.dumps(body, separators=(",", ":"), ensure_ascii=False), parsed)


def _sorted(value: Any) -> Any:
    # Lists keep their order: field, symbol and union branch order is part of the schema.
    if isinstance(value, dict):
        return {key: _sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted(item) for item in value]
    return value
