"""Avro values in Confluent's wire format, with the schema registry (fastavro).

:class:`AvroSerializer` registers (or looks up) its schema once per subject and then only
frames fastavro's output; :class:`AvroDeserializer` caches writer schemas by id. A value that
cannot be decoded raises :class:`UndecodableRecord` (or :class:`UnknownSchemaId`) naming its
topic, partition and offset, so a consumer dead-letters it and goes on; a registry that does
not answer raises :class:`RegistryUnavailable`, which is retryable and must not dead-letter.
"""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Mapping
from typing import Any, Protocol

import fastavro
from fastavro.validation import ValidationError, validate

from eventpipes.records import Record
from eventpipes.schemas import wire
from eventpipes.schemas.errors import InvalidFrame, SerializationFailed, UndecodableRecord, UnknownSchemaId
from eventpipes.schemas.naming import SubjectNameStrategy, topic_name_strategy
from eventpipes.schemas.registry.errors import SchemaNotFound

#: What fastavro raises on a body that ends early or holds nonsense.
_BODY_ERRORS = (EOFError, ValueError, struct.error, IndexError, UnicodeDecodeError, TypeError, KeyError, OverflowError)


class SchemaRegistry(Protocol):
    """What the serde needs of a registry client (``client.RegistryClient`` has it)."""

    def register(self, subject: str, schema: str, *, normalize: bool = False) -> int: ...

    def lookup(self, subject: str, schema: str, *, normalize: bool = False) -> Any: ...

    def schema_by_id(self, schema_id: int) -> str: ...


def parse_schema(schema: str | Mapping[str, Any] | list[Any]) -> Any:
    """A fastavro-parsed schema from text or JSON value; each parse has its own named types."""
    value: Any = json.loads(schema) if isinstance(schema, str) else schema
    return fastavro.parse_schema(value, named_schemas={})


def problems(parsed_schema: Any, value: Any) -> list[str]:
    """What in ``value`` does not fit the schema, one line per field (empty: it fits)."""
    try:
        validate(value, parsed_schema, raise_errors=True)
    except ValidationError as exc:
        return sorted({str(error) for error in exc.errors}) or [str(exc)]
    return []


class AvroSerializer:
    """Writes values with one schema, framed with its id under the subject the strategy names.

    Args:
        registry: the registry client.
        schema: the writer schema (JSON text or value).
        subject_strategy: topic -> subject (Confluent's TopicNameStrategy by default).
        auto_register: register the schema (compatibility checked by the registry) rather than
            only look it up.
        is_key: the values are record keys (``<topic>-key`` with the default strategy).
    """

    def __init__(
        self,
        registry: SchemaRegistry,
        schema: str | Mapping[str, Any],
        *,
        subject_strategy: SubjectNameStrategy = topic_name_strategy,
        auto_register: bool = True,
        normalize: bool = False,
        is_key: bool = False,
    ) -> None:
        self.registry = registry
        self.schema_text = schema if isinstance(schema, str) else json.dumps(schema)
        self.parsed = parse_schema(self.schema_text)
        self.record_name: str | None = self.parsed.get("name") if isinstance(self.parsed, dict) else None
        self._strategy = subject_strategy
        self._auto_register = auto_register
        self._normalize = normalize
        self._is_key = is_key
        self._headers: dict[str, bytes] = {}

    def subject(self, topic: str) -> str:
        """The subject this serializer's schema lives under for ``topic``."""
        return self._strategy(topic, self.record_name, self._is_key)

    def schema_id(self, topic: str) -> int:
        """The schema's id for ``topic``, registering or looking it up the first time.

        Raises:
            IncompatibleSchema: the subject's compatibility level refuses the schema (409).
            SubjectNotFound, SchemaNotFound: not registered, with ``auto_register=False``.
        """
        return wire.read_header(self._header(topic))

    def _header(self, topic: str) -> bytes:
        header = self._headers.get(topic)
        if header is None:
            subject = self.subject(topic)
            if self._auto_register:
                schema_id = self.registry.register(subject, self.schema_text, normalize=self._normalize)
            else:
                schema_id = self.registry.lookup(subject, self.schema_text, normalize=self._normalize).schema_id
            header = self._headers[topic] = wire.header(schema_id)
        return header

    def serialize(self, value: Any, topic: str) -> bytes:
        """``value`` as a framed Avro body.

        Raises:
            SerializationFailed: the value does not fit the schema (names each field).
        """
        out = io.BytesIO()
        out.write(self._header(topic))
        try:
            fastavro.schemaless_writer(out, self.parsed, value)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError, struct.error) as exc:
            raise SerializationFailed(self.subject(topic), problems(self.parsed, value) or [str(exc)]) from exc
        return out.getvalue()


class AvroDeserializer:
    """Reads framed Avro values written with any registered schema.

    Args:
        registry: the registry client.
        reader_schema: read every value as this schema (Avro schema resolution), or ``None``
            to read each with its writer's schema.
    """

    def __init__(self, registry: SchemaRegistry, reader_schema: str | Mapping[str, Any] | None = None) -> None:
        self.registry = registry
        self.reader = parse_schema(reader_schema) if reader_schema is not None else None
        self._writers: dict[int, Any] = {}

    def writer_schema(self, schema_id: int) -> Any:
        """The parsed schema of an id (fetched once).

        Raises:
            SchemaNotFound: the registry does not know it.
        """
        parsed = self._writers.get(schema_id)
        if parsed is None:
            parsed = self._writers[schema_id] = parse_schema(self.registry.schema_by_id(schema_id))
        return parsed

    def deserialize(self, data: bytes, *, topic: str | None = None, partition: int | None = None, offset: int | None = None) -> Any:
        """The value in a framed Avro body.

        Raises:
            UndecodableRecord: bad magic byte, truncated frame or body.
            UnknownSchemaId: the id is not in the registry.
            RegistryUnavailable: the registry did not answer (retry; do not dead-letter).
        """
        try:
            schema_id = wire.read_header(data)
        except InvalidFrame as exc:
            raise UndecodableRecord(exc.reason, code=exc.code, topic=topic, partition=partition, offset=offset) from exc
        try:
            writer = self._writers.get(schema_id) or self.writer_schema(schema_id)
        except SchemaNotFound as exc:
            raise UnknownSchemaId(
                f"schema id {schema_id} is not registered",
                schema_id=schema_id, topic=topic, partition=partition, offset=offset,
            ) from exc
        body = io.BytesIO(data)
        body.seek(wire.HEADER_SIZE)
        try:
            return fastavro.schemaless_reader(body, writer, self.reader)
        except _BODY_ERRORS as exc:
            reason = f"Avro body truncated or corrupt for schema id {schema_id} ({type(exc).__name__}: {exc})"
            raise UndecodableRecord(
                reason, schema_id=schema_id, code="TruncatedFrame", topic=topic, partition=partition, offset=offset
            ) from exc

    def deserialize_record(self, record: Record) -> Any:
        """The value of a record read from Kafka (``None`` for a tombstone)."""
        if record.value is None:
            return None
        return self.deserialize(record.value, topic=record.topic, partition=record.partition, offset=record.offset)
