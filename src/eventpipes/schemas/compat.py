"""Compatibility levels and the check that says whether a new schema may follow older ones.

The direction of each level, as Confluent defines it:

- BACKWARD: consumers using the new schema can read data written with the old one
  (the new schema is the reader, the old one the writer);
- FORWARD: consumers using the old schema can read data written with the new one;
- FULL: both;
- ``*_TRANSITIVE``: against every earlier version, not only the latest;
- NONE: no check.

The pair check is ``avro.compatibility.ReaderWriterCompatibilityChecker``. Each problem is
reported as one message in the shape Confluent's verbose answers use
(``{errorType:'...', description:'...'}``), followed by the old version, the old schema and the
level, so a 409 says exactly what broke.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import avro.schema
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType, SchemaIncompatibilityType

from eventpipes.schemas.canonical import AvroSchema


class CompatibilityLevel(StrEnum):
    """Confluent's compatibility levels (``compatibilityLevel`` in ``/config``)."""

    BACKWARD = "BACKWARD"
    BACKWARD_TRANSITIVE = "BACKWARD_TRANSITIVE"
    FORWARD = "FORWARD"
    FORWARD_TRANSITIVE = "FORWARD_TRANSITIVE"
    FULL = "FULL"
    FULL_TRANSITIVE = "FULL_TRANSITIVE"
    NONE = "NONE"

    @property
    def transitive(self) -> bool:
        return self.endswith("_TRANSITIVE")

    @property
    def checks_backward(self) -> bool:
        return self.startswith(("BACKWARD", "FULL"))

    @property
    def checks_forward(self) -> bool:
        return self.startswith(("FORWARD", "FULL"))


#: Confluent's default when neither the subject nor the registry sets a level.
DEFAULT_LEVEL = CompatibilityLevel.BACKWARD


def parse_level(text: str) -> CompatibilityLevel:
    """A level from its name, in any case.

    Raises:
        ValueError: not one of the seven levels.
    """
    return CompatibilityLevel(text.strip().upper())


@dataclass(frozen=True, slots=True)
class PriorVersion:
    """An earlier version a new schema is checked against."""

    version: int
    """Its version number within the subject."""
    schema: AvroSchema
    """Its schema."""


@dataclass(frozen=True, slots=True)
class CompatibilityResult:
    """Whether a schema may follow the earlier ones, and why not."""

    is_compatible: bool
    """True when every required check passed."""
    messages: tuple[str, ...] = ()
    """One message per problem, then the old version, old schema and level (empty when compatible)."""


COMPATIBLE = CompatibilityResult(True)


def check(level: CompatibilityLevel, new: AvroSchema, prior: Sequence[PriorVersion]) -> CompatibilityResult:
    """Check ``new`` against ``prior`` (oldest first) as ``level`` requires.

    Non-transitive levels check the latest prior version only. The first version that fails
    is reported, newest first, as Confluent does.
    """
    if level is CompatibilityLevel.NONE or not prior:
        return COMPATIBLE
    against = prior if level.transitive else prior[-1:]
    for old in reversed(against):
        problems = pair_problems(level, new, old.schema)
        if problems:
            return CompatibilityResult(False, (*problems, *_context(level, old)))
    return COMPATIBLE


def pair_problems(level: CompatibilityLevel, new: AvroSchema, old: AvroSchema) -> list[str]:
    """The problems of ``new`` following ``old`` under ``level``'s direction (empty: none)."""
    problems: list[str] = []
    if level.checks_backward:
        problems += _problems(reader=new.parsed, writer=old.parsed, reader_role="new", writer_role="old")
    if level.checks_forward:
        problems += _problems(reader=old.parsed, writer=new.parsed, reader_role="old", writer_role="new")
    return problems


def _context(level: CompatibilityLevel, old: PriorVersion) -> tuple[str, ...]:
    return (f"{{oldSchemaVersion: {old.version}}}", f"{{oldSchema: '{old.schema.text}'}}", f"{{compatibility: '{level}'}}")


def _problems(*, reader: avro.schema.Schema, writer: avro.schema.Schema, reader_role: str, writer_role: str) -> list[str]:
    # A new checker per pair: it memoizes results by (reader, writer) object pairs.
    result = ReaderWriterCompatibilityChecker().get_compatibility(reader, writer)
    if result.compatibility is not SchemaCompatibilityType.incompatible:
        return []
    # avro merges the problems of a schema into sets of messages and locations, losing
    # which message goes with which location; a single problem keeps the pairing exactly,
    # several are reported with all locations and messages sorted (deterministic).
    locations = ", ".join(sorted(result.locations))
    details = "; ".join(sorted(result.messages))
    kinds = list(dict.fromkeys(result.incompatibilities))
    return [
        f"{{errorType:'{kind.name.upper()}', description:'{_describe(kind, locations, details, reader_role, writer_role)}'}}"
        for kind in kinds
    ]


def _describe(kind: SchemaIncompatibilityType, where: str, detail: str, reader: str, writer: str) -> str:
    if kind is SchemaIncompatibilityType.reader_field_missing_default_value:
        return f"The field(s) {detail} at {where} in the {reader} schema have no default value and are missing in the {writer} schema"
    if kind is SchemaIncompatibilityType.type_mismatch:
        return f"The type at {where} in the {reader} schema does not match the {writer} schema ({detail})"
    if kind is SchemaIncompatibilityType.missing_union_branch:
        return f"The union at {where} in the {reader} schema lacks a type of the {writer} schema ({detail})"
    if kind is SchemaIncompatibilityType.missing_enum_symbols:
        return f"The enum at {where} in the {reader} schema lacks symbols of the {writer} schema: {detail}"
    if kind is SchemaIncompatibilityType.name_mismatch:
        return f"The name at {where} in the {reader} schema differs from the {writer} schema ({detail})"
    return f"The fixed size at {where} in the {reader} schema differs from the {writer} schema ({detail})"
