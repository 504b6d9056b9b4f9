"""Errors of the Avro serde and the registry client.

A record that cannot be decoded is an :class:`UndecodableRecord` naming its topic, partition
and offset, so a consumer can dead-letter it and go on; a registry that cannot be reached is
:class:`RegistryUnavailable` (retryable), which must not dead-letter anything.
"""

from __future__ import annotations

from eventpipes.errors import EventPipesError


class InvalidFrame(EventPipesError):
    """Bytes that are not a Confluent wire-format frame (pure: no record position known)."""

    code = "InvalidFrame"

    def __init__(self, reason: str, *, code: str | None = None) -> None:
        super().__init__(reason, code=code)
        self.reason = reason


class BadMagicByte(InvalidFrame):
    """The first byte is not 0, so the value was not written by a schema-registry serializer."""

    code = "BadMagicByte"


class TruncatedFrame(InvalidFrame):
    """The value ends before its 5-byte header or its Avro body does."""

    code = "TruncatedFrame"


class UndecodableRecord(EventPipesError):
    """A record whose value cannot be decoded; dead-letter it rather than stop the stream.

    Attributes:
        topic, partition, offset: where the record is (``None`` when decoding bare bytes).
        schema_id: the id in its header, when the header could be read.
        reason: what is wrong, in a few words.
    """

    code = "UndecodableRecord"

    def __init__(
        self,
        reason: str,
        *,
        topic: str | None,
        partition: int | None,
        offset: int | None,
        schema_id: int | None = None,
        code: str | None = None,
    ) -> None:
        where = f"{topic}[{partition}]@{offset}" if topic is not None else "value"
        super().__init__(f"cannot decode {where}: {reason}", code=code)
        self.reason = reason
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.schema_id = schema_id


class UnknownSchemaId(UndecodableRecord):
    """The record names a schema id the registry does not know (Confluent 40403)."""

    code = "UnknownSchemaId"


class SerializationFailed(EventPipesError):
    """A value does not fit the schema it is being written with.

    Attributes:
        subject: the subject whose schema was used.
        problems: one line per field that does not fit, e.g. ``detail.total: expected long``.
    """

    code = "SerializationFailed"
    input_error = True

    def __init__(self, subject: str, problems: list[str]) -> None:
        super().__init__(f"value does not fit schema of {subject!r}: {'; '.join(problems)}")
        self.subject = subject
        self.problems = problems


class RegistryUnavailable(EventPipesError):
    """The schema registry did not answer (connection refused, timeout). Retry later."""

    code = "RegistryUnavailable"
    retryable = True

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"cannot reach the schema registry at {url}: {reason} (start it with `eventpipes schema-registry`, or set SCHEMA_REGISTRY_URL)")
        self.url = url


class InvalidSchema(EventPipesError):
    """Schema text that is not a valid Avro schema (the registry answers 42201).

    Attributes:
        reason: what the Avro parser reported.
    """

    code = "InvalidSchema"
    input_error = True

    def __init__(self, reason: str) -> None:
        super().__init__(f"invalid Avro schema: {reason}")
        self.reason = reason


class RegistryCannotListen(EventPipesError):
    """The registry server cannot bind its address (port taken, address not local)."""

    code = "RegistryCannotListen"

    def __init__(self, host: str, port: int, reason: str) -> None:
        super().__init__(f"the schema registry cannot listen on {host}:{port}: {reason}")
        self.host = host
        self.port = port
