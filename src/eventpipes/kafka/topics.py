"""Every Kafka topic name eventpipes uses, and the configs it creates them with.

Names are built here and nowhere else, so a Kafka user can predict them and
``kafka-topics.sh --list`` reads like the topology.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PREFIX = "eventpipes"

#: Largest bus record: a 1 MB entry (EventBridge's maximum) plus the envelope, with room.
BUS_MAX_MESSAGE_BYTES = 2 * 1024 * 1024


#: The schema registry's log (Confluent's name for it, so Kafka tools recognise it).
SCHEMAS_TOPIC = "_schemas"

#: The control plane's store (buses, rules, targets, connections, API destinations, pipes):
#: a log of change requests every reader applies in order (``eventpipes.control``).
#: ``EVENTPIPES_CONTROL_TOPIC`` names another (tests use one of their own).
CONTROL_TOPIC = f"{PREFIX}.control"


def bus_topic(bus: str) -> str:
    """The topic that holds bus ``bus``'s events."""
    return f"{PREFIX}.bus.{bus}"


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """A topic to create if it is missing."""

    name: str
    """Topic name."""
    partitions: int
    """Partition count used at creation (an existing topic keeps its own)."""
    config: dict[str, str] = field(default_factory=dict)
    """Topic-level configs, e.g. ``retention.ms``."""


def delivery_topic(bus: str, rule: str, target: str) -> str:
    """The topic the router fills for one target of one rule, drained by that target's delivery agent."""
    return f"{PREFIX}.target.{bus}.{rule}.{target}"


def retry_topic(bus: str, rule: str, target: str) -> str:
    """Where events wait for their next attempt at one target of one rule (non-blocking retries)."""
    return f"{PREFIX}.retry.{bus}.{rule}.{target}"


def invalid_events_topic(bus: str) -> str:
    """Where the router sets aside records of a bus topic that are not EventBridge events."""
    return f"{PREFIX}.invalid.{bus}"


def bus_topic_spec(bus: str, partitions: int, retention_hours: int | None = None) -> TopicSpec:
    config = {"max.message.bytes": str(BUS_MAX_MESSAGE_BYTES)}
    if retention_hours is not None:
        config["retention.ms"] = str(retention_hours * 3600 * 1000)
    return TopicSpec(name=bus_topic(bus), partitions=partitions, config=config)


def internal_topic_spec(name: str, partitions: int) -> TopicSpec:
    """Delivery, dead-letter and set-aside topics: they carry bus records, so bus-sized messages."""
    return TopicSpec(name=name, partitions=partitions, config={"max.message.bytes": str(BUS_MAX_MESSAGE_BYTES)})


def schemas_topic_spec(name: str = SCHEMAS_TOPIC) -> TopicSpec:
    """The schema registry's log: one partition (one order for every registry) and compacted.

    Compaction rather than deletion keeps every record for ever; the registry writes each
    record under its own key, so compaction never removes one (see ``schemas.registry.store``).
    """
    return TopicSpec(name=name, partitions=1, config={"cleanup.policy": "compact"})


#: Bus settings PutEvents must know without the topology (schema governance), one record per
#: bus keyed by its name, written by ``eventpipes run`` (a tombstone: the bus is not governed).
BUSES_TOPIC = f"{PREFIX}.buses"
#: Archive definitions, one record per archive keyed by its name (a tombstone deletes it).
ARCHIVES_TOPIC = f"{PREFIX}.archives"
#: Replay state, one record per replay keyed by its name, and ``cancel/<name>`` cancel requests.
REPLAYS_TOPIC = f"{PREFIX}.replays"
#: Claims of archive names (``eventpipes.kafka.claims``): which of two racing creates wins.
ARCHIVE_CLAIMS_TOPIC = f"{PREFIX}.archives.claims"


def archive_topic(archive: str) -> str:
    """The topic holding archive ``archive``'s events, timestamped with each event's ``time``."""
    return f"{PREFIX}.archive.{archive}"


def replay_topic(bus: str) -> str:
    """Where replay jobs put the events they replay to bus ``bus``; the worker routes them to the bus's rules."""
    return f"{PREFIX}.replay.{bus}"


def archive_topic_spec(archive: str, partitions: int, retention_ms: int, overrides: dict[str, str] | None = None) -> TopicSpec:
    """An archive topic: ``retention.ms`` from RetentionDays (-1: for ever).

    ``compact,delete``: records are keyed by event id, so compaction only removes a
    second copy of the same event (an at-least-once retry), and Kafka's log cleaner
    enforces the retention promptly. ``message.timestamp.type=CreateTime`` keeps the
    event time the archiver sets, which ``offsets_for_times`` searches.
    """
    config = {
        "max.message.bytes": str(BUS_MAX_MESSAGE_BYTES),
        "retention.ms": str(retention_ms),
        "cleanup.policy": "compact,delete",
        "message.timestamp.type": "CreateTime",
        **(overrides or {}),
    }
    return TopicSpec(name=archive_topic(archive), partitions=partitions, config=config)


def control_topic_spec(name: str = CONTROL_TOPIC) -> TopicSpec:
    """The control plane's log: one partition (one order for every reader), compacted.

    Every record has its own key (a request id), so compaction never removes one: a reader
    rebuilds the state by applying the whole history, as the schema registry's log does.
    """
    return TopicSpec(name=name, partitions=1, config={"cleanup.policy": "compact"})


def claims_topic_spec(name: str) -> TopicSpec:
    """A claims log: one partition (one order for every claimant), compacted (every key unique: nothing removed)."""
    return TopicSpec(name=name, partitions=1, config={"cleanup.policy": "compact"})


def state_topic_spec(name: str) -> TopicSpec:
    """Archive definitions and replay state: one partition (one order for every reader), compacted."""
    return TopicSpec(name=name, partitions=1, config={"cleanup.policy": "compact"})


def schedules_topic(group: str) -> str:
    """Scheduled rules' progress for worker group ``group``: one record per rule, keyed by its name.

    The same name is the consumer group whose member assigned the topic's one partition
    owns (fires) every schedule, and the transactional id that owner writes with, so a
    new owner fences a previous one that has not noticed it lost the partition.
    """
    return f"{PREFIX}.schedules.{group}"


def schedules_topic_spec(group: str) -> TopicSpec:
    """One partition (one owner, one order) and compacted: only each rule's latest progress matters."""
    return TopicSpec(name=schedules_topic(group), partitions=1, config={"cleanup.policy": "compact"})
