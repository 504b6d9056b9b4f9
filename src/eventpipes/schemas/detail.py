"""Event details checked and encoded against a subject's latest schema: the hook a
schema-governed bus (PutEvents) calls per entry.

``validate_detail`` returns the problems (one line per field) instead of raising, as PutEvents
turns them into a per-entry error; ``encode`` frames the Avro body with the schema id.
"""

from __future__ import annotations

import io
from typing import Any, Protocol

import fastavro

from eventpipes.schemas import wire
from eventpipes.schemas.client import RegisteredSchema
from eventpipes.schemas.errors import SerializationFailed
from eventpipes.schemas.serde import parse_schema, problems


class LatestVersions(Protocol):
    """What the codec needs of a registry client (``client.RegistryClient`` has it)."""

    def version(self, subject: str, version: int | str = "latest") -> RegisteredSchema: ...


class DetailCodec:
    """The latest schema of one subject, fetched once (``refresh`` fetches it again)."""

    def __init__(self, registry: LatestVersions, subject: str) -> None:
        self.registry = registry
        self.subject = subject
        self._latest: tuple[RegisteredSchema, Any, bytes] | None = None

    def _schema(self) -> tuple[RegisteredSchema, Any, bytes]:
        if self._latest is None:
            latest = self.registry.version(self.subject)
            self._latest = (latest, parse_schema(latest.schema), wire.header(latest.schema_id))
        return self._latest

    @property
    def latest(self) -> RegisteredSchema:
        """The version details are checked against.

        Raises:
            SubjectNotFound: the subject has no version.
        """
        return self._schema()[0]

    def refresh(self) -> None:
        """Forget the cached version (after a new one is registered)."""
        self._latest = None

    def validate_detail(self, detail: Any) -> list[str]:
        """What in ``detail`` does not fit the schema (empty: it fits)."""
        return problems(self._schema()[1], detail)

    def encode(self, detail: Any) -> bytes:
        """``detail`` in Confluent's wire format.

        Raises:
            SerializationFailed: the detail does not fit (its ``problems`` name the fields).
        """
        _, parsed, header = self._schema()
        out = io.BytesIO()
        out.write(header)
        try:
            fastavro.schemaless_writer(out, parsed, detail)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
            raise SerializationFailed(self.subject, problems(parsed, detail) or [str(exc)]) from exc
        return out.getvalue()
