"""Archives and replays as values: what they hold, what is valid, and how a replay's state moves.

Pure core: no Kafka, no I/O, no clock (callers pass ``now_ms``). EventBridge's keys
outside (``ArchiveName``, ``RetentionDays``, ``EventStartTime``, ``FilterArns``),
snake_case inside.

Decisions:

- An archive reads one bus (``EventBusName``; EventBridge's ``EventSourceArn``), fixed
  once created. ``RetentionDays`` 0 keeps events for ever (Kafka ``retention.ms=-1``).
- ``State`` is ``ENABLED`` or ``DISABLED`` (a disabled archive keeps its events and
  archives nothing new); EventBridge's transitional states (CREATING, UPDATING, ...)
  never last here because creating an archive is one topic creation and one record.
  Describe shows ``UPDATE_FAILED`` with a ``StateReason`` for an ENABLED archive a
  worker cannot write (its key is missing): see :class:`ArchiveStatus`.
- Encryption: ``EncryptionKeyVariable`` names an environment variable holding a
  base64 AES key (128, 192 or 256 bits) in place of EventBridge's ``KmsKeyIdentifier``.
  The definition stores a key check value, never the key.
- A replay's window is ``[EventStartTime, EventEndTime]`` on each event's ``time``,
  both ends included; or, as a Kafka-native extension, per-partition offsets of the
  archive topic (``FromOffsets`` included, ``ToOffsets`` excluded, as Kafka's end offsets).
- Replay states are EventBridge's six; :func:`next_state` is the only way one changes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from eventpipes.arns import DEFAULT_BUS, archive_arn, bus_arn, bus_of_arn, replay_arn, rule_arn, rule_of_arn
from eventpipes.archive.errors import IllegalStatusException, InvalidEventPatternException, ValidationException
from eventpipes.patterns import InvalidEventPattern, compile_pattern

#: EventBridge's charset for archive and replay names.
NAME_PATTERN = r"^[\.\-_A-Za-z0-9]+$"
#: EventBridge: archive names are 1..48 characters, replay names 1..64.
ARCHIVE_NAME_MAX = 48
REPLAY_NAME_MAX = 64
DESCRIPTION_MAX = 512
#: EventBridge runs at most 10 replays at once per account and region.
MAX_CONCURRENT_REPLAYS = 10
DAY_MS = 86_400_000

#: A replay job reports at least this often while it runs ...
HEARTBEAT_MS = 1_000
#: ... so one not heard from for this long has stopped (killed, machine lost); 5 missed
#: heartbeats leave room for a slow broker round trip without calling a live job dead.
LEASE_MS = 5_000


class ArchiveState(StrEnum):
    """EventBridge's archive states; eventpipes' archives are ENABLED or DISABLED."""

    ENABLED = "ENABLED"
    DISABLED = "DISABLED"
    CREATING = "CREATING"
    UPDATING = "UPDATING"
    CREATE_FAILED = "CREATE_FAILED"
    UPDATE_FAILED = "UPDATE_FAILED"


class ReplayState(StrEnum):
    """EventBridge's replay states."""

    STARTING = "STARTING"
    RUNNING = "RUNNING"
    CANCELLING = "CANCELLING"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"
    FAILED = "FAILED"


#: States in which a replay counts against the concurrency limit and may be cancelled.
ACTIVE_STATES = frozenset({ReplayState.STARTING, ReplayState.RUNNING, ReplayState.CANCELLING})
CANCELLABLE_STATES = frozenset({ReplayState.STARTING, ReplayState.RUNNING})

ReplayAction = Literal["run", "cancel", "cancelled", "complete", "fail", "resume"]

#: (from, action) -> to. Anything not listed raises IllegalStatusException.
_TRANSITIONS: dict[tuple[ReplayState, str], ReplayState] = {
    (ReplayState.STARTING, "run"): ReplayState.RUNNING,
    (ReplayState.STARTING, "cancel"): ReplayState.CANCELLING,
    (ReplayState.RUNNING, "cancel"): ReplayState.CANCELLING,
    (ReplayState.STARTING, "cancelled"): ReplayState.CANCELLED,
    (ReplayState.RUNNING, "cancelled"): ReplayState.CANCELLED,
    (ReplayState.CANCELLING, "cancelled"): ReplayState.CANCELLED,
    (ReplayState.STARTING, "complete"): ReplayState.COMPLETED,
    (ReplayState.RUNNING, "complete"): ReplayState.COMPLETED,
    # a job that saw the cancel request only after its last event finishes as cancelled
    (ReplayState.CANCELLING, "complete"): ReplayState.CANCELLED,
    (ReplayState.STARTING, "fail"): ReplayState.FAILED,
    (ReplayState.RUNNING, "fail"): ReplayState.FAILED,
    (ReplayState.CANCELLING, "fail"): ReplayState.FAILED,
    (ReplayState.STARTING, "resume"): ReplayState.RUNNING,
    (ReplayState.RUNNING, "resume"): ReplayState.RUNNING,
}


def next_state(name: str, current: ReplayState, action: ReplayAction) -> ReplayState:
    """The state a replay moves to when ``action`` happens.

    Raises:
        IllegalStatusException: the action is not allowed in ``current`` (e.g. cancel a COMPLETED replay).
    """
    try:
        return _TRANSITIONS[(current, action)]
    except KeyError:
        raise IllegalStatusException(name, current.value, action) from None


def check_name(kind: Literal["Archive", "Replay"], name: str) -> str:
    """``name`` if EventBridge would accept it for an archive or a replay.

    Raises:
        ValidationException: empty, too long, or a character outside ``[.-_A-Za-z0-9]``.
    """
    limit = ARCHIVE_NAME_MAX if kind == "Archive" else REPLAY_NAME_MAX
    if not 1 <= len(name) <= limit:
        raise ValidationException(f"{kind}Name", f"must be 1 to {limit} characters long")
    if not re.match(NAME_PATTERN, name):
        raise ValidationException(f"{kind}Name", "may only contain letters, digits, '.', '-' and '_'")
    return name


def check_pattern(pattern: Any) -> dict[str, Any] | None:
    """An archive's pattern (a mapping or JSON text) compiled as EventBridge would, or None.

    Raises:
        InvalidEventPatternException: not JSON, or a pattern EventBridge refuses.
    """
    if pattern is None or pattern == "":
        return None
    if isinstance(pattern, str):
        try:
            pattern = json.loads(pattern)
        except ValueError as exc:
            raise InvalidEventPatternException(f"not valid JSON: {exc}") from exc
    try:
        compile_pattern(pattern)
    except InvalidEventPattern as error:
        raise InvalidEventPatternException(error.message, error.path or "") from error
    assert isinstance(pattern, dict)
    return pattern


class Archive(BaseModel):
    """An archive as declared in a topology (``Archives:``) or given to ``archive create``."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    name: str = Field(alias="ArchiveName", min_length=1, max_length=ARCHIVE_NAME_MAX, pattern=NAME_PATTERN)
    """Archive name; its Kafka topic is ``eventpipes.archive.<name>``."""
    event_bus_name: str = Field(default=DEFAULT_BUS, alias="EventBusName", min_length=1, max_length=234, pattern=NAME_PATTERN)
    """The bus whose events are archived (EventBridge's ``EventSourceArn``); fixed once created."""
    description: str | None = Field(default=None, alias="Description", max_length=DESCRIPTION_MAX)
    """Free text."""
    event_pattern: dict[str, Any] | None = Field(default=None, alias="EventPattern")
    """Only events matching it are archived; none archives every event (a mapping or JSON text)."""
    retention_days: int = Field(default=0, alias="RetentionDays", ge=0)
    """Days events are kept (Kafka ``retention.ms``); 0 keeps them for ever."""
    state: Literal["ENABLED", "DISABLED"] = Field(default="ENABLED", alias="State")
    """DISABLED stops archiving new events; the archived ones stay."""
    encryption_key_variable: str | None = Field(default=None, alias="EncryptionKeyVariable", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    """Environment variable holding the base64 AES key events are encrypted with (AES-GCM)."""

    @field_validator("event_pattern", mode="before")
    @classmethod
    def _pattern(cls, value: Any) -> Any:
        try:
            return check_pattern(value)
        except InvalidEventPatternException as error:
            raise ValueError(error.message) from error

    @property
    def retention_ms(self) -> int:
        """Kafka ``retention.ms``: -1 (for ever) when RetentionDays is 0."""
        return -1 if self.retention_days == 0 else self.retention_days * DAY_MS

    def to_dict(self) -> dict[str, Any]:
        """EventBridge's keys, without unset fields."""
        return self.model_dump(by_alias=True, exclude_none=True)


@dataclass(frozen=True, slots=True)
class StoredArchive:
    """An archive as kept in the archive-definitions topic."""

    archive: Archive
    """The definition."""
    creation_time_ms: int
    """When it was created, ms since the epoch."""
    key_check: str | None = None
    """Check value of the encryption key (see ``archive.crypto``); None when not encrypted."""

    @property
    def name(self) -> str:
        return self.archive.name

    def to_json(self) -> bytes:
        body = {"Archive": self.archive.to_dict(), "CreationTime": self.creation_time_ms, "KeyCheck": self.key_check}
        return json.dumps(body, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, data: bytes) -> "StoredArchive":
        body = json.loads(data)
        return cls(Archive.model_validate(body["Archive"]), int(body["CreationTime"]), body.get("KeyCheck"))




def archive_group(name: str) -> str:
    """The consumer group whose committed offsets on the bus topic say how far archive ``name`` got."""
    return f"eventpipes.archive.{name}"


#: Keys of archive states in the archive-definitions topic: ``state/<name>`` (``/`` is
#: outside the name charset, so no definition has such a key).
STATUS_PREFIX = "state/"


def status_key(name: str) -> str:
    return STATUS_PREFIX + name


@dataclass(frozen=True, slots=True)
class ArchiveStatus:
    """What a worker last said about writing an archive; describe shows it as State and StateReason."""

    state: Literal["ENABLED", "UPDATE_FAILED"]
    """UPDATE_FAILED: a worker cannot write the archive (its position is held); ENABLED: a worker writes it again."""
    reason: str | None
    """Why, for UPDATE_FAILED (EventBridge's StateReason)."""
    time_ms: int
    """When the worker said so."""
    worker: str
    """The worker (host:pid) that said so."""

    @staticmethod
    def archive_of(key: str) -> str | None:
        """The archive a ``state/<name>`` key is about; None for any other key."""
        return key[len(STATUS_PREFIX):] if key.startswith(STATUS_PREFIX) else None

    def to_json(self) -> bytes:
        body = {"State": self.state, "StateReason": self.reason, "Time": self.time_ms, "Worker": self.worker}
        return json.dumps(body, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, data: bytes) -> "ArchiveStatus":
        body = json.loads(data)
        reason, time_ms, worker = body.get("StateReason"), int(body.get("Time", 0)), str(body.get("Worker", ""))
        if body.get("State") == "UPDATE_FAILED":
            return cls("UPDATE_FAILED", reason, time_ms, worker)
        return cls("ENABLED", reason, time_ms, worker)


def bus_of_destination(destination: str) -> str:
    """The bus a replay ``Destination.Arn`` (an event-bus ARN or a bus name) names.

    Raises:
        ValidationException: neither a bus name nor an event-bus ARN.
    """
    name = bus_of_arn(destination) or destination
    if not re.match(NAME_PATTERN, name):
        raise ValidationException("Destination.Arn", f"{destination!r} is not an event bus ARN")
    return name


def rule_of_filter(bus: str, value: str) -> str:
    """The rule a ``FilterArns`` entry names: a rule ARN on ``bus``, or a plain rule name.

    Raises:
        ValidationException: an ARN of a rule on another bus, or not a rule at all.
    """
    parsed = rule_of_arn(value)
    if parsed is not None:
        rule_bus, rule = parsed
        if rule_bus != bus:
            raise ValidationException("Destination.FilterArns", f"rule {value} is not on the archive's bus {bus}")
        return rule
    if not re.match(NAME_PATTERN, value) or len(value) > 64:
        raise ValidationException("Destination.FilterArns", f"{value!r} is neither a rule name nor a rule ARN")
    return value


def check_window(start_ms: int, end_ms: int) -> None:
    """Raises ValidationException unless ``start_ms`` is before ``end_ms``."""
    if end_ms <= start_ms:
        raise ValidationException("EventEndTime", "EventStartTime must be before EventEndTime")


def check_offsets(from_offsets: dict[int, int] | None, to_offsets: dict[int, int] | None) -> None:
    """Offsets given for partitions, non-negative, each end after its start.

    Raises:
        ValidationException: naming the partition.
    """
    for name, offsets in (("FromOffsets", from_offsets), ("ToOffsets", to_offsets)):
        for partition, offset in (offsets or {}).items():
            if partition < 0 or offset < 0:
                raise ValidationException(name, f"partition {partition} offset {offset}: both must be >= 0")
    if from_offsets and to_offsets:
        for partition, end in to_offsets.items():
            if partition in from_offsets and end < from_offsets[partition]:
                raise ValidationException("ToOffsets", f"partition {partition}: {end} is before FromOffsets {from_offsets[partition]}")


def parse_offsets(text: str, option: str) -> dict[int, int]:
    """``"0:100,1:250"`` -> ``{0: 100, 1: 250}``.

    Raises:
        ValidationException: malformed.
    """
    offsets: dict[int, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        partition, sep, offset = part.partition(":")
        if not sep or not partition.isdigit() or not offset.isdigit():
            raise ValidationException(option, f"{part!r} is not PARTITION:OFFSET")
        offsets[int(partition)] = int(offset)
    if not offsets:
        raise ValidationException(option, "no PARTITION:OFFSET given")
    return offsets


@dataclass(frozen=True, slots=True)
class Progress:
    """How far a replay got; written with its state after the records are acknowledged."""

    positions: dict[int, int] = field(default_factory=dict)
    """Per archive partition: the next offset to read (everything before it is finished)."""
    stops: dict[int, int] = field(default_factory=dict)
    """Per archive partition: the offset where the window ends (excluded)."""
    records_total: int = 0
    """Archive records between the window's start and stop offsets (the progress bar's 100%)."""
    records_read: int = 0
    """Of those, read so far."""
    events_replayed: int = 0
    """Events in the window re-published so far."""
    output_offsets: dict[int, int] = field(default_factory=dict)
    """End offsets of the output topic when this progress was written (to find a crashed job's last writes)."""
    events_per_second: float = 0.0
    """Replay rate over the last reporting interval."""

    @property
    def eta_seconds(self) -> float | None:
        """Seconds left at the current rate, when known."""
        left = self.records_total - self.records_read
        if left <= 0:
            return 0.0
        return left / self.events_per_second if self.events_per_second > 0 else None


@dataclass(frozen=True, slots=True)
class Replay:
    """A replay: its request, its state, its progress."""

    name: str
    archive: str
    bus: str
    """The archive's source bus: the only destination EventBridge allows."""
    event_start_ms: int | None
    event_end_ms: int | None
    state: ReplayState
    replay_start_ms: int
    description: str | None = None
    filter_rules: tuple[str, ...] = ()
    """Rules that get the replayed events (EventBridge's ``FilterArns``); empty: every rule of the bus."""
    from_offsets: dict[int, int] | None = None
    to_offsets: dict[int, int] | None = None
    to_topic: str | None = None
    """Replay into this plain topic instead of the bus's rules (for inspection)."""
    rate_limit: float | None = None
    """Events per second at most; None: as fast as Kafka allows."""
    state_reason: str | None = None
    replay_end_ms: int | None = None
    event_last_replayed_ms: int | None = None
    heartbeat_ms: int = 0
    """When the job last wrote this record."""
    owner: str | None = None
    """The job (host:pid) that runs it."""
    progress: Progress = field(default_factory=Progress)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    def lease_expired(self, now_ms: int) -> bool:
        """True when the replay should be running but its job stopped reporting."""
        return self.active and now_ms - max(self.heartbeat_ms, self.replay_start_ms) > LEASE_MS

    def moved(self, action: ReplayAction, now_ms: int, reason: str | None = None) -> "Replay":
        """This replay after ``action``; terminal states get ``ReplayEndTime``.

        Raises:
            IllegalStatusException: see :func:`next_state`.
        """
        state = next_state(self.name, self.state, action)
        end = now_ms if state in (ReplayState.COMPLETED, ReplayState.CANCELLED, ReplayState.FAILED) else self.replay_end_ms
        return replace(self, state=state, state_reason=reason, replay_end_ms=end, heartbeat_ms=now_ms)

    def to_json(self) -> bytes:
        """The stored form (internal; ``describe`` gives the EventBridge shape)."""
        p = self.progress
        body = {
            "name": self.name, "archive": self.archive, "bus": self.bus, "description": self.description,
            "event_start_ms": self.event_start_ms, "event_end_ms": self.event_end_ms, "state": self.state.value,
            "state_reason": self.state_reason, "replay_start_ms": self.replay_start_ms, "replay_end_ms": self.replay_end_ms,
            "event_last_replayed_ms": self.event_last_replayed_ms, "filter_rules": list(self.filter_rules),
            "from_offsets": _keys_str(self.from_offsets), "to_offsets": _keys_str(self.to_offsets), "to_topic": self.to_topic,
            "rate_limit": self.rate_limit, "heartbeat_ms": self.heartbeat_ms, "owner": self.owner,
            "progress": {
                "positions": _keys_str(p.positions), "stops": _keys_str(p.stops), "records_total": p.records_total,
                "records_read": p.records_read, "events_replayed": p.events_replayed,
                "output_offsets": _keys_str(p.output_offsets), "events_per_second": p.events_per_second,
            },
        }
        return json.dumps(body, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, data: bytes) -> "Replay":
        b = json.loads(data)
        p = b.get("progress") or {}
        return cls(
            name=b["name"], archive=b["archive"], bus=b["bus"], description=b.get("description"),
            event_start_ms=b.get("event_start_ms"), event_end_ms=b.get("event_end_ms"), state=ReplayState(b["state"]),
            state_reason=b.get("state_reason"), replay_start_ms=b["replay_start_ms"], replay_end_ms=b.get("replay_end_ms"),
            event_last_replayed_ms=b.get("event_last_replayed_ms"), filter_rules=tuple(b.get("filter_rules") or ()),
            from_offsets=_keys_int(b.get("from_offsets")), to_offsets=_keys_int(b.get("to_offsets")), to_topic=b.get("to_topic"),
            rate_limit=b.get("rate_limit"), heartbeat_ms=b.get("heartbeat_ms", 0), owner=b.get("owner"),
            progress=Progress(
                positions=_keys_int(p.get("positions")) or {}, stops=_keys_int(p.get("stops")) or {},
                records_total=p.get("records_total", 0), records_read=p.get("records_read", 0),
                events_replayed=p.get("events_replayed", 0), output_offsets=_keys_int(p.get("output_offsets")) or {},
                events_per_second=p.get("events_per_second", 0.0),
            ),
        )

    def describe(self, region: str, account: str, *, now_ms: int, cancel_requested: bool = False) -> dict[str, Any]:
        """DescribeReplay's response, plus eventpipes' ``Progress`` (and the Kafka-native request fields when used).

        ``State`` is what a user should see now: CANCELLING once a cancel was asked
        of a running replay, and a ``StateReason`` saying so when the job stopped reporting.
        """
        state, reason = self.state, self.state_reason
        if cancel_requested and state in CANCELLABLE_STATES:
            state, reason = ReplayState.CANCELLING, "cancel requested"
        if self.lease_expired(now_ms):
            reason = (f"the replay job ({self.owner or 'not started'}) has not reported since {format_ms(self.heartbeat_ms)}; "
                      f"`eventpipes replay resume {self.name}` continues it from its last committed position, "
                      f"`eventpipes replay cancel {self.name}` cancels it")
        destination: dict[str, Any] = {"Arn": bus_arn(region, account, self.bus)}
        if self.filter_rules:
            destination["FilterArns"] = [rule_arn(region, account, self.bus, r) for r in self.filter_rules]
        body: dict[str, Any] = {
            "ReplayName": self.name,
            "ReplayArn": replay_arn(region, account, self.name),
            "Description": self.description,
            "State": state.value,
            "StateReason": reason,
            "EventSourceArn": archive_arn(region, account, self.archive),
            "Destination": destination,
            "EventStartTime": format_ms(self.event_start_ms),
            "EventEndTime": format_ms(self.event_end_ms),
            "EventLastReplayedTime": format_ms(self.event_last_replayed_ms),
            "ReplayStartTime": format_ms(self.replay_start_ms),
            "ReplayEndTime": format_ms(self.replay_end_ms),
        }
        if self.from_offsets is not None:
            body["FromOffsets"] = _keys_str(self.from_offsets)
        if self.to_offsets is not None:
            body["ToOffsets"] = _keys_str(self.to_offsets)
        if self.to_topic is not None:
            body["ToTopic"] = self.to_topic
        p = self.progress
        body["Progress"] = {
            "RecordsTotal": p.records_total, "RecordsRead": p.records_read, "EventsReplayed": p.events_replayed,
            "EventsPerSecond": round(p.events_per_second, 1), "EtaSeconds": None if p.eta_seconds is None else round(p.eta_seconds, 1),
            "RateLimit": self.rate_limit,
        }
        return {k: v for k, v in body.items() if v is not None}


def format_ms(epoch_ms: int | None) -> str | None:
    """RFC 3339 UTC with milliseconds, or None."""
    if epoch_ms is None:
        return None
    from datetime import datetime, timezone

    return datetime.fromtimestamp(epoch_ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _keys_str(offsets: dict[int, int] | None) -> dict[str, int] | None:
    return None if offsets is None else {str(k): v for k, v in sorted(offsets.items())}


def _keys_int(offsets: dict[str, int] | None) -> dict[int, int] | None:
    return None if offsets is None else {int(k): int(v) for k, v in offsets.items()}
