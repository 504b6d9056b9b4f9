"""PutEvents entries: their AWS shape, EventBridge's size rule, and per-entry results.

Everything here is pure: it turns what a caller sent into events ready to be put,
or into the per-entry failure EventBridge would report. The Kafka side lives in
``eventpipes.bus.put_events``.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from json.encoder import encode_basestring
from random import getrandbits
from typing import Any, Mapping, Sequence

from eventpipes.arns import DEFAULT_BUS, bus_of_arn
from eventpipes.errors import ValidationException
from eventpipes.events import jsontext
from eventpipes.events.envelope import Event, format_time, parse_time
from eventpipes.events.errors import EntryError, InvalidArgument, MalformedDetail, NotAuthorizedForSource

#: PutEvents takes 1 to 10 entries per call.
MAX_ENTRIES = 10

#: ``Time``, when set, counts as 14 bytes towards the entry size, whatever its text.
TIME_SIZE_BYTES = 14

#: TraceHeader is 1..500 characters (PutEventsRequestEntry).
MAX_TRACE_HEADER = 500

ENTRY_FIELDS = ("Time", "Source", "Resources", "DetailType", "Detail", "EventBusName", "TraceHeader")


# EventBridge allows [/.\-_A-Za-z0-9]+; Kafka topic names cannot hold '/', and the
# bus topic's prefix leaves 234 of Kafka's 249 characters for the name.
_BUS_NAME = re.compile(r"^[.\-_A-Za-z0-9]{1,234}$")


@dataclass(frozen=True, slots=True)
class PreparedEntry:
    """An entry that passed every check: the event to put and where."""

    bus: str
    """Name of the bus the event goes to."""
    event: Event
    """The envelope built from the entry."""
    trace_header: str | None = None
    """The entry's TraceHeader, carried as a record header."""
    detail_text: str | None = None
    """The entry's ``Detail`` as sent (checked JSON), written into the envelope as it is."""

    def to_json(self) -> bytes:
        """The bus record's value: the envelope as ``Event.to_json`` writes it, with ``detail`` as the entry sent it.

        The detail's text is already checked (a JSON object of valid Unicode, finite numbers,
        nested at most 1100 levels), so it is written as it came rather than encoded again
        from its parsed form: encoding it was ~7 of the ~9 µs this takes per 450-byte detail,
        and ~20% of PutEvents' CPU per entry. Readers parse the same value either way; only
        the bytes differ where the sender's text had spaces, escapes or number spellings
        that the compact form would have rewritten.
        """
        event = self.event
        if self.detail_text is None or event.replay_name is not None:
            return event.to_json()
        return (f'{{"version":{_text(event.version)},"id":{_text(event.id)},"detail-type":{_text(event.detail_type)},'
                f'"source":{_text(event.source)},"account":{_text(event.account)},"time":{_text(event.time)},'
                f'"region":{_text(event.region)},"resources":[{",".join(_text(r) for r in event.resources)}],'
                f'"detail":{self.detail_text}}}').encode()


#: A JSON string literal of ``text``, as ``json.dumps(text, ensure_ascii=False)`` writes it (its C encoder).
_text = encode_basestring


@dataclass(frozen=True, slots=True)
class PutEventsResultEntry:
    """One entry's outcome: an ``EventId``, or an ``ErrorCode`` and ``ErrorMessage``."""

    event_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None

    @classmethod
    def failed(cls, error: EntryError) -> "PutEventsResultEntry":
        return cls(error_code=error.code, error_message=error.message)

    def to_dict(self) -> dict[str, str]:
        if self.event_id is not None:
            return {"EventId": self.event_id}
        return {"ErrorCode": self.error_code or "InternalFailure", "ErrorMessage": self.error_message or ""}


@dataclass(frozen=True, slots=True)
class PutEventsResult:
    """The PutEvents response: one result per entry, in the order sent."""

    entries: tuple[PutEventsResultEntry, ...]

    @property
    def failed_entry_count(self) -> int:
        return sum(1 for entry in self.entries if entry.event_id is None)

    def to_dict(self) -> dict[str, Any]:
        """The AWS response shape: ``FailedEntryCount`` and ``Entries``."""
        return {"FailedEntryCount": self.failed_entry_count, "Entries": [e.to_dict() for e in self.entries]}


def entry_size(entry: Mapping[str, Any]) -> int:
    """The size EventBridge charges an entry against the limit.

    14 bytes for ``Time`` when set, plus the UTF-8 bytes of ``Source``,
    ``DetailType``, ``Detail`` and each resource. ``EventBusName`` and
    ``TraceHeader`` do not count.
    """
    size = TIME_SIZE_BYTES if entry.get("Time") is not None else 0
    for name in ("Source", "DetailType", "Detail"):
        value = entry.get(name)
        if isinstance(value, str):
            size += _utf8_size(value)
    resources = entry.get("Resources")
    for resource in resources if isinstance(resources, list) else ():
        if isinstance(resource, str):
            size += _utf8_size(resource)
    return size


def _utf8_size(text: str) -> int:
    # A lone surrogate has no UTF-8 form; it is counted as the 3 bytes its code point would
    # take, and the entry is then refused by the field's own check. ASCII text (``isascii``
    # reads a flag CPython keeps) is its own length, without encoding it.
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def check_entry_list(entries: Any) -> Sequence[Any]:
    """Check the request as a whole: a list of 1 to 10 entries.

    Raises:
        ValidationException: with the message EventBridge gives for the same request.
    """
    if not isinstance(entries, list):
        raise ValidationException("Entries must be a JSON array of PutEvents entries.")
    if not entries:
        raise ValidationException(
            "1 validation error detected: Value '[]' at 'entries' failed to satisfy constraint: "
            "Member must have length greater than or equal to 1"
        )
    if len(entries) > MAX_ENTRIES:
        raise ValidationException(
            f"1 validation error detected: Value at 'entries' failed to satisfy constraint: "
            f"Member must have length less than or equal to {MAX_ENTRIES} (got {len(entries)})"
        )
    return entries


def check_request_size(entries: Sequence[Any], limit: int) -> None:
    """Check the entries' total size (:func:`entry_size` summed) against the limit, as AWS's endpoint does.

    AWS's PutEvents fails the whole request when the entries together are over the limit
    (one entry over it is over it too); the CLI and Python API fail such an entry alone.

    Raises:
        ValidationException: "Total size of the entries in the request is over the limit."
    """
    total = sum(entry_size(entry) for entry in entries if isinstance(entry, Mapping))
    if total > limit:
        raise ValidationException("Total size of the entries in the request is over the limit.")


def bus_name_of(value: Any) -> str:
    """The bus an ``EventBusName`` (a name or an event-bus ARN) designates.

    Raises:
        InvalidArgument: not a name a bus topic can carry.
    """
    if not isinstance(value, str) or not value:
        raise InvalidArgument("Parameter EventBusName is not valid. Reason: it must be a non-empty string.", field="EventBusName")
    name = bus_of_arn(value) or value
    if not _BUS_NAME.match(name):
        raise InvalidArgument(
            f"Parameter EventBusName is not valid. Reason: {name!r} must be 1 to 234 of A-Z a-z 0-9 . _ - "
            "(a Kafka topic name cannot hold '/').",
            field="EventBusName",
        )
    return name


def prepare_entry(
    entry: Any,
    *,
    default_bus: str,
    account: str,
    region: str,
    max_entry_bytes: int,
    now: datetime,
    event_id: str | None = None,
) -> PreparedEntry:
    """Check one entry as EventBridge does and build its event (``event_id``: its id, else a new UUID).

    Raises:
        EntryError: the entry fails alone, with EventBridge's code and message.
    """
    if not isinstance(entry, dict):
        raise InvalidArgument("Entry is not valid. Reason: an entry must be a JSON object.")
    unknown = sorted(set(entry) - set(ENTRY_FIELDS))
    if unknown:
        raise InvalidArgument(
            f"Unknown parameter in entry: {unknown[0]!r}, must be one of: {', '.join(ENTRY_FIELDS)}",
            field=unknown[0],
        )
    source = _required_string(entry, "Source")
    detail_type = _required_string(entry, "DetailType")
    detail_text = _required_string(entry, "Detail")
    resources = _resources(entry.get("Resources"))
    trace_header = _trace_header(entry.get("TraceHeader"))
    bus = bus_name_of(entry["EventBusName"]) if entry.get("EventBusName") is not None else default_bus
    size = entry_size(entry)
    if size > max_entry_bytes:
        raise InvalidArgument(
            f"Total size of the entry is over the limit: {size} bytes, limit {max_entry_bytes} bytes.",
            field="Detail",
        )
    if source.startswith("aws."):
        raise NotAuthorizedForSource(source)
    detail = parse_detail(detail_text)
    time = _time(entry.get("Time"), now)
    event = Event(
        source=source,
        detail_type=detail_type,
        detail=detail,
        account=account,
        region=region,
        time=time,
        resources=resources,
        id=event_id or str(uuid.uuid4()),
    )
    # JSON allows only space, tab, CR and LF around a value; kept out of the envelope.
    return PreparedEntry(bus=bus, event=event, trace_header=trace_header, detail_text=detail_text.strip(" \t\r\n"))


def new_event_ids(count: int) -> list[str]:
    """``count`` random (version 4) UUIDs in text form, as ``str(uuid.uuid4())`` writes them.

    From ``random.getrandbits`` rather than ``uuid4``'s ``os.urandom``: each OS read lets
    other threads take the GIL, and threads sharing a PutEvents client then queued to get it
    back (py-spy, 32 threads: 14% of samples in ``uuid4``, and still 22% with one read per
    call). An event id must be unique, not unpredictable: ``random``'s generator is seeded
    from the OS at start-up and seeded afresh in a forked child (CPython registers it with
    ``os.register_at_fork``), so no two processes draw the same sequence.
    """
    ids = []
    for _ in range(count):
        h = f"{getrandbits(128):032x}"
        # version nibble 4; variant bits 10 (the nibble becomes 8, 9, a or b), as RFC 4122 sets them
        ids.append(f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}")
    return ids


_VARIANT = "89ab"


def parse_detail(text: str) -> dict[str, Any]:
    """Parse ``Detail``: a JSON object of valid Unicode, finite numbers, nested at most 1100 levels.

    A lone surrogate, raw in the text or as a ``\\ud800`` escape, is not Unicode: it has no
    UTF-8 form, so the event could not be written or delivered. EventBridge requires the
    detail to be valid JSON (RFC 8259 text, UTF-8), so the entry fails as malformed.

    Raises:
        MalformedDetail: not JSON, not an object, nested deeper than
            ``jsontext.MAX_DETAIL_DEPTH``, or holding a lone surrogate.
    """
    try:
        if not text.isascii():
            text.encode("utf-8")  # a raw lone surrogate
        detail = jsontext.loads(text, limit=jsontext.MAX_DETAIL_DEPTH, decoder=_DETAIL_DECODER)
    except ValueError as exc:  # UnicodeEncodeError, JSONDecodeError, JsonTooDeep
        raise MalformedDetail() from exc
    if not isinstance(detail, dict):
        raise MalformedDetail()
    if _SURROGATE_ESCAPE.search(text) and not _is_unicode(detail):
        raise MalformedDetail()
    return detail


#: A ``\uD800``-``\uDFFF`` escape: JSON that may decode to a lone surrogate (a pair decodes
#: to one character; a lone one stays a surrogate, which :func:`_is_unicode` finds).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _is_unicode(detail: dict[str, Any]) -> bool:
    try:
        jsontext.dumps(detail, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text} is out of range")
    return number


#: One decoder for every ``Detail``: ``json.loads`` with hooks builds a new one per call.
_DETAIL_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)


def _required_string(entry: Mapping[str, Any], name: str) -> str:
    value = entry.get(name)
    if value is None or value == "":
        raise InvalidArgument(f"Parameter {name} is not valid. Reason: {name} is a required argument.", field=name)
    if not isinstance(value, str):
        raise InvalidArgument(
            f"Parameter {name} is not valid. Reason: {name} must be a string, not {type(value).__name__}.",
            field=name,
        )
    if name != "Detail":
        _check_unicode(name, value)
    return value


def _check_unicode(name: str, value: str) -> None:
    """Refuse text holding a lone surrogate: it has no UTF-8 form to put on a bus."""
    if value.isascii():
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidArgument(
            f"Parameter {name} is not valid. Reason: {name} holds a lone surrogate (U+{ord(value[exc.start]):04X}) "
            f"at character {exc.start}, which is not valid Unicode.",
            field=name,
        ) from exc


def _resources(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidArgument("Parameter Resources is not valid. Reason: Resources must be an array of strings.", field="Resources")
    for item in value:
        _check_unicode("Resources", item)
    return tuple(value)


def _trace_header(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_TRACE_HEADER:
        raise InvalidArgument(
            f"Parameter TraceHeader is not valid. Reason: TraceHeader must be a string of 1 to {MAX_TRACE_HEADER} characters.",
            field="TraceHeader",
        )
    _check_unicode("TraceHeader", value)
    return value


@lru_cache(maxsize=1)
def _now_text(now: datetime) -> str:
    """``format_time(now)``, formatted once for the entries of a call that share ``now`` (strftime: ~2 µs)."""
    return format_time(now)


def _time(value: Any, now: datetime) -> str:
    """``Time`` as the AWS CLI takes it: RFC 3339 text or epoch seconds; absent means now."""
    if value is None:
        return _now_text(now)
    try:
        if isinstance(value, bool):
            raise ValueError("a boolean is not a time")
        if isinstance(value, (int, float)):
            return format_time(datetime.fromtimestamp(value, tz=timezone.utc))
        if isinstance(value, str):
            return format_time(parse_time(value))
        raise ValueError(f"{type(value).__name__} is not a time")
    except (ValueError, OverflowError, OSError) as exc:
        raise InvalidArgument(
            f"Parameter Time is not valid. Reason: {value!r} is neither RFC 3339 nor epoch seconds ({exc}).",
            field="Time",
        ) from exc
