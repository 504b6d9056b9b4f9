"""The registry's log records (one per state change) and the values its API speaks of.

Every change (register, delete, config, mode) is written to the ``_schemas`` log as one
:data:`Command`, JSON-encoded, and applied by every registry in log order (``state.py``).
Reads are answered from the applied state and never touch the log.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from eventpipes.schemas.registry.errors import InvalidVersion

#: Bumped if a record's JSON shape changes incompatibly; older registries skip newer records.
FORMAT = 1
MAX_VERSION = 2**31 - 1


class Mode(StrEnum):
    """The registry's mode (``/mode``). IMPORT is not supported (see README)."""

    READWRITE = "READWRITE"
    READONLY = "READONLY"
    READONLY_OVERRIDE = "READONLY_OVERRIDE"


@dataclass(frozen=True, slots=True)
class Register:
    """Register ``schema`` (canonical text) under ``subject``."""

    request_id: str
    """Unique per request; also the record key, so compaction never drops a record."""
    subject: str
    """Subject to register under."""
    schema: str
    """Canonical Avro schema text (the server parses and canonicalizes before writing)."""


@dataclass(frozen=True, slots=True)
class DeleteVersion:
    """Delete one version of a subject, softly or permanently."""

    request_id: str
    """Unique per request."""
    subject: str
    """The subject."""
    version: int | None
    """The version, or ``None`` for the latest at apply time."""
    permanent: bool
    """Permanent deletion; only of a version soft-deleted before."""


@dataclass(frozen=True, slots=True)
class DeleteSubject:
    """Delete every version of a subject, softly or permanently."""

    request_id: str
    """Unique per request."""
    subject: str
    """The subject."""
    permanent: bool
    """Permanent deletion; only of a subject soft-deleted before."""


@dataclass(frozen=True, slots=True)
class SetConfig:
    """Set the compatibility level of a subject, or the global one."""

    request_id: str
    """Unique per request."""
    subject: str | None
    """The subject, or ``None`` for the global level."""
    level: str
    """A ``CompatibilityLevel`` name."""


@dataclass(frozen=True, slots=True)
class DeleteConfig:
    """Remove a subject's own level (or reset the global one to the default)."""

    request_id: str
    """Unique per request."""
    subject: str | None
    """The subject, or ``None`` for the global level."""


@dataclass(frozen=True, slots=True)
class SetMode:
    """Set the registry's mode."""

    request_id: str
    """Unique per request."""
    mode: str
    """A ``Mode`` name."""


Command = Register | DeleteVersion | DeleteSubject | SetConfig | DeleteConfig | SetMode
_OPS: dict[str, type[Command]] = {
    "register": Register,
    "delete-version": DeleteVersion,
    "delete-subject": DeleteSubject,
    "set-config": SetConfig,
    "delete-config": DeleteConfig,
    "set-mode": SetMode,
}
_NAMES = {cls: op for op, cls in _OPS.items()}


def encode(command: Command) -> bytes:
    """The log record value of ``command``."""
    return json.dumps({"format": FORMAT, "op": _NAMES[type(command)], **asdict(command)}, separators=(",", ":")).encode()


def decode(value: bytes) -> Command | None:
    """The command in a log record value, or ``None`` for a record this registry does not
    understand (another format, or a record some other registry wrote), which is skipped."""
    try:
        body: Any = json.loads(value)
        if not isinstance(body, dict) or body.pop("format", None) != FORMAT:
            return None
        return _OPS[body.pop("op")](**body)
    except (ValueError, KeyError, TypeError):
        return None


def parse_version(text: str) -> int | None:
    """A version path parameter: ``latest`` or ``-1`` is ``None`` (the latest), else 1..2^31-1.

    Raises:
        InvalidVersion: anything else (42202).
    """
    if text == "latest" or text == "-1":
        return None
    try:
        version = int(text)
    except ValueError:
        version = 0
    if not 1 <= version <= MAX_VERSION:
        raise InvalidVersion(
            f"The specified version '{text}' is not a valid version id. "
            'Allowed values are between [1, 2^31-1] and the string "latest"'
        )
    return version


@dataclass(frozen=True, slots=True)
class SubjectVersion:
    """One version of a subject, as ``GET /subjects/{s}/versions/{v}`` answers it."""

    subject: str
    """The subject."""
    version: int
    """Its version number, from 1, in log order within the subject."""
    schema_id: int
    """The global schema id."""
    schema: str
    """Canonical schema text."""
    deleted: bool = False
    """Soft-deleted."""

    def to_body(self) -> dict[str, object]:
        # schemaType is left out for AVRO, as Confluent's registry does.
        return {"subject": self.subject, "version": self.version, "id": self.schema_id, "schema": self.schema}
