"""Schema-governed buses: which subject (and version) governs each ``(source, detail-type)``,
and the per-entry errors PutEvents reports when a detail does not fit.

A bus declares ``SchemaGovernance`` in its topology::

    EventBuses:
      - Name: orders
        SchemaGovernance:
          SubjectNameStrategy: SourceDetailType   # default: <source>@<detail-type>
          Subjects:                               # optional: explicit subjects, pinned versions
            - {Source: com.example.orders, DetailType: Order Placed, Version: 2}
            - {Source: com.example.orders, DetailType: Order Paid, Subject: payments-value}
          OnMissingSubject: REJECT                # default; or ALLOW_JSON

Subject naming strategies (``SubjectNameStrategy``):

- ``SourceDetailType`` (default): ``<source>@<detail-type>``, the name ``schemas discover``
  gives (``naming.discovered_subject``: characters outside ``A-Za-z0-9._-`` removed), so
  discovering and registering a bus's schemas is all it takes to govern it;
- ``BusSourceDetailType``: ``<bus>.<source>@<detail-type>``, for two buses that want
  different schemas for the same event type.

An entry of ``Subjects`` overrides the strategy for its ``(Source, DetailType)`` and may pin a
``Version``; without one the subject's latest version governs. ``OnMissingSubject`` says what
happens to an entry whose subject has no version in the registry: ``REJECT`` (the default,
the safe choice: an ungoverned event type cannot slip onto a governed bus) fails the entry
with ``InvalidArgument``; ``ALLOW_JSON`` stores it as a plain JSON envelope.

Error codes: a detail that does not fit its schema fails its entry with ``InvalidArgument``
(EventBridge's code for an entry parameter that is not valid; EventBridge itself has no
schema validation on PutEvents) and the message ``Parameter Detail is not valid. Reason: ...``
names every field that broke the schema. The other entries of the call still go through.

Pure: pydantic and the naming functions only. ``eventpipes.bus.governed`` applies it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from eventpipes.events.errors import EntryError
from eventpipes.schemas.naming import discovered_subject

SubjectNameStrategy = Literal["SourceDetailType", "BusSourceDetailType"]
OnMissingSubject = Literal["REJECT", "ALLOW_JSON"]

#: How many problems an error message lists before it says "and N more".
MAX_LISTED_PROBLEMS = 5


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class GovernedEventType(_Model):
    """An explicit subject (or a pinned version) for one ``(Source, DetailType)``."""

    source: str = Field(alias="Source", min_length=1, max_length=256)
    """The events' ``source``."""
    detail_type: str = Field(alias="DetailType", min_length=1, max_length=128)
    """The events' ``detail-type``."""
    subject: str | None = Field(default=None, alias="Subject", min_length=1, max_length=255)
    """The subject; by default the one the bus's strategy names."""
    version: int | None = Field(default=None, alias="Version", ge=1)
    """A pinned version of the subject; by default its latest."""


class SchemaGovernance(_Model):
    """A bus's schema governance (``EventBuses[].SchemaGovernance``)."""

    subject_name_strategy: SubjectNameStrategy = Field(default="SourceDetailType", alias="SubjectNameStrategy")
    """How a ``(source, detail-type)`` names its subject (see the module docstring)."""
    subjects: tuple[GovernedEventType, ...] = Field(default=(), alias="Subjects")
    """Explicit subjects and pinned versions, overriding the strategy."""
    on_missing_subject: OnMissingSubject = Field(default="REJECT", alias="OnMissingSubject")
    """An event type whose subject has no version: fail the entry, or store it as JSON."""

    def subject_for(self, bus: str, source: str, detail_type: str) -> tuple[str, int | None]:
        """The subject governing an event type on ``bus``, and its pinned version (``None``: latest)."""
        for entry in self.subjects:
            if entry.source == source and entry.detail_type == detail_type:
                return entry.subject or self._named(bus, source, detail_type), entry.version
        return self._named(bus, source, detail_type), None

    def _named(self, bus: str, source: str, detail_type: str) -> str:
        subject = discovered_subject(source, detail_type)
        return f"{bus}.{subject}" if self.subject_name_strategy == "BusSourceDetailType" else subject

    def to_json(self) -> bytes:
        """The form kept in the ``eventpipes.buses`` topic (EventBridge's keys)."""
        return self.model_dump_json(by_alias=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> "SchemaGovernance":
        return cls.model_validate_json(data)


class DetailDoesNotFitSchema(EntryError):
    """An entry's ``Detail`` does not fit the schema governing its event type.

    Attributes:
        subject, version: the schema it was checked against.
        problems: one line per field, e.g. ``detail.total: expected double, got string "x"``.
    """

    code = "InvalidArgument"

    def __init__(self, subject: str, version: int, problems: list[str]) -> None:
        listed = "; ".join(problems[:MAX_LISTED_PROBLEMS])
        more = f" (and {len(problems) - MAX_LISTED_PROBLEMS} more)" if len(problems) > MAX_LISTED_PROBLEMS else ""
        super().__init__(
            f"Parameter Detail is not valid. Reason: it does not match schema {subject!r} version {version}: {listed}{more}",
            field="Detail",
        )
        self.subject = subject
        self.version = version
        self.problems = problems


class NoSchemaForEventType(EntryError):
    """A governed bus refuses an event type whose subject has no schema (``OnMissingSubject: REJECT``).

    Attributes:
        subject: the subject that was looked up.
        version: the pinned version, if one was.
    """

    code = "InvalidArgument"

    def __init__(self, bus: str, subject: str, version: int | None) -> None:
        which = f"version {version} of subject" if version is not None else "subject"
        super().__init__(
            f"Parameter DetailType is not valid. Reason: bus {bus!r} is schema-governed and {which} {subject!r} "
            "is not in the schema registry (register a schema, e.g. with `eventpipes schemas discover --register`).",
            field="DetailType",
        )
        self.subject = subject
        self.version = version
