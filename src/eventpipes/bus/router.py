"""The router: one per bus, matching each event against all of the bus's rules at once.

Each match becomes a record of that target's own delivery topic, so a slow or
failing target never holds back the bus, another rule or another target. The
router's work on a batch is finished (and its offsets may be committed) only once
Kafka acknowledged every record it produced for that batch.

Direct targets: a target that writes to Kafka through the worker's own producer (a topic,
a bus) cannot be slow the way an HTTP endpoint can, and the delivery-topic hop doubled the
Kafka work of every event it got (a second produce, a second fetch). A router given
``direct`` delivers such targets itself: it hands the record the delivery topic would have
held to a ``Direct`` (a delivery worker's ``handle_all``, with the target's input
transformation, retry topic and dead-letter topic), and the batch is finished once each of
them is written, waiting on the target's retry topic, or dead-lettered, as the delivery
worker would have left it. Retries are read from the retry topic by the delivery role as
before. While the worker's producer does not know the target's topic (it does not exist),
its events take the delivery topic instead, so a missing topic holds back only its own
target's delivery worker, never the bus. Scheduled rules' ticks (``routed``) and routers
without ``direct`` (Faust's) always write delivery records.

Archives read the bus on their own (``eventpipes.archive.running``), not through the router.
A second router per bus reads the bus's replay topic (``replay=True``): it routes
replayed events only to the rules the replay named (header ``eventpipes-replay-rules``,
EventBridge's ``FilterArns``; absent: every rule) and never archives them.

Bus records are read with ``schemas.codec.BusDecoder``: JSON envelopes, or Avro details of a
schema-governed bus, which the router passes on as JSON envelopes. A record that is neither
is set aside on ``eventpipes.invalid.<bus>`` with the reason and where it was.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass
from collections.abc import Awaitable, Callable, Iterable, Iterator


from eventpipes.kafka.headers import ERROR_HEADER, GROUP_HEADER, INGESTION_HEADER, REPLAY_RULES_HEADER, ROUTED_CARRIED_HEADERS, RULE_HEADER, SOURCE_HEADER
from eventpipes.schemas.codec import BusDecoder
from eventpipes.bus.metrics import Metrics
from eventpipes.records import OutRecord, RecordSink
from eventpipes.events.errors import InvalidEvent
from eventpipes.kafka.partitioning import SamePartition
from eventpipes.kafka.topics import delivery_topic, invalid_events_topic
from eventpipes.patterns import Ruler
from eventpipes.records import Record
from eventpipes.topology.model import Rule, Target


@dataclass(frozen=True, slots=True)
class Direct:
    """A target the router delivers to itself (see the module docstring)."""

    writes_to: str
    """The Kafka topic the target writes; while the producer does not know it, events take the delivery topic."""
    handle_all: Callable[[list[Record]], Awaitable[None]]
    """Delivers delivery-topic records as the target's delivery worker does: returns once each
    is written, waiting on the retry topic, or dead-lettered (raises if none of that could be done)."""


DirectFactory = Callable[[Rule, Target], "Direct | None"]
"""``(rule, target)`` → how the router delivers that target itself, or None to use its delivery topic."""


@dataclass(frozen=True, slots=True, eq=False)
class Route:
    """One target of one rule, and the topic that feeds it (compared by identity: a batch groups records by route)."""

    rule: str
    target: str
    topic: str
    direct: Direct | None = None
    """Set when the router delivers this target itself."""


class Router:
    """Routes the events of one bus to the delivery topics of its enabled rules' targets."""

    def __init__(self, bus: str, rules: list[Rule], sink: RecordSink, metrics: Metrics, *,
                 replay: bool = False, decoder: BusDecoder | None = None,
                 partition_count: Callable[[str], int] | None = None, group: str | None = None,
                 direct: DirectFactory | None = None) -> None:
        self.bus = bus
        self._direct = direct
        self._partition_count = partition_count
        self._group_header = [(GROUP_HEADER, group.encode())] if group is not None else []
        self._partition = SamePartition(partition_count)
        self._decoder = decoder or BusDecoder()
        self.replay = replay
        self._sink = sink
        self._metrics = metrics
        self._since: dict[str, int] = {}
        self.rules: list[Rule] = []
        self.update(rules)

    def update(self, rules: list[Rule], *, since_ms: dict[str, int] | None = None) -> None:
        """Route by ``rules`` from now on (a live change of the bus's rules).

        Args:
            since_ms: per rule, the earliest bus record time it may match: a rule created,
                enabled or given a new pattern while the worker runs matches only events put
                after that (as EventBridge's new rules do), not older ones still waiting to
                be routed. Rules not named match whatever is routed.
        """
        enabled = [rule for rule in rules if rule.state == "ENABLED"]
        # A rule with only a ScheduleExpression matches no event (it fires on its schedule,
        # through ``routed`` below); an empty pattern would match every one.
        ruler = Ruler({rule.name: rule.event_pattern for rule in enabled if rule.event_pattern is not None})
        direct = self._direct
        self._routes = {rule.name: [Route(rule.name, t.id, delivery_topic(self.bus, rule.name, t.id),
                                          direct(rule, t) if direct is not None else None) for t in rule.targets]
                        for rule in enabled}
        self._ruler = ruler
        self._since = {name: ms for name, ms in (since_ms or {}).items() if name in self._routes and ms > 0}
        self.rules = list(rules)

    @property
    def since_ms(self) -> dict[str, int]:
        """Rules that match only bus records from some time on (see ``update``), and that time."""
        return dict(self._since)

    def plan(self, record: Record) -> list[OutRecord]:
        """The delivery records a bus record turns into: one per target of each matching rule (direct ones too)."""
        found = self._match(record)
        if isinstance(found, OutRecord):
            return [found]
        record, value, matched = found
        carried = [(k, v) for k, v in record.headers if k in ROUTED_CARRIED_HEADERS]
        out = []
        for rule in matched:
            out += self.routed(rule, record.key, value, ingestion_time_ms=record.timestamp_ms,
                               source_partition=record.partition, carried=carried)
        return out

    def plan_all(self, records: Iterable[Record]) -> Iterator[OutRecord]:
        """``plan`` for many bus records, in their order: matches counted once per rule at the end,
        each event's headers built once (the Faust route's per-event path)."""
        counts: dict[str, int] = {}
        partition = self._partition
        routes = self._routes
        group = self._group_header
        try:
            for record in records:
                found = self._match(record)
                if isinstance(found, OutRecord):
                    yield found
                    continue
                record, value, matched = found
                if not matched:
                    continue
                base = [(k, v) for k, v in record.headers if k in ROUTED_CARRIED_HEADERS] if record.headers else []
                base.append((INGESTION_HEADER, str(record.timestamp_ms).encode()))
                base += group
                key = record.key
                source = record.partition
                for rule in matched:
                    counts[rule] = counts.get(rule, 0) + 1
                    headers = [*base, (RULE_HEADER, rule.encode())]
                    for route in routes[rule]:
                        yield OutRecord(route.topic, key, value, headers, partition=partition(route.topic, source))
                        headers = list(headers)  # each record owns its headers, as plan's do
        finally:
            for rule, count in counts.items():
                self._metrics.matched(self.bus, rule, count)

    def _match(self, record: Record) -> tuple[Record, bytes, list[str]] | OutRecord:
        """``(record, JSON envelope, matched rules in name order)``, or the record set aside if it is no event."""
        try:
            body, value = self._decoder.envelope(record)
        except InvalidEvent as error:
            self._metrics.invalid_event(self.bus)
            return self._set_aside(record, error)
        if value is not record.value:
            # Schema-governed bus: targets, archives and replays get the JSON envelope (schemas.codec).
            record = dataclasses.replace(record, value=value)
        matched = self._ruler.matches(body)
        if self.replay:
            matched = _only_named_rules(matched, record.headers)
        if self._since and matched and not self.replay:  # a replay routes to the rules in force now
            matched = {rule for rule in matched if record.timestamp_ms >= self._since.get(rule, 0)}
        return record, value, sorted(matched) if len(matched) > 1 else list(matched)

    def routed(self, rule: str, key: bytes | None, value: bytes, *, ingestion_time_ms: int, source_partition: int,
               carried: list[tuple[str, bytes]] | None = None) -> list[OutRecord]:
        """The delivery records of an event that matched ``rule`` (one per target), counted as a match.

        Routed bus events come through here, and so do scheduled rules' ticks
        (``eventpipes.bus.scheduled``), so that both reach the targets alike.

        Args:
            rule: an enabled rule of this bus.
            key: the record key (the bus record's; the event id for a tick).
            value: the JSON envelope.
            ingestion_time_ms: when the event reached the bus (``INGESTION_HEADER``).
            source_partition: the bus partition the event is (or would be) on; delivery
                partitions follow it (``SamePartition``).
            carried: headers carried from the bus record (``ROUTED_CARRIED_HEADERS``).
        """
        self._metrics.matched(self.bus, rule)
        headers = [*(carried or ()), (INGESTION_HEADER, str(ingestion_time_ms).encode()), *self._group_header,
                   (RULE_HEADER, rule.encode())]
        return [OutRecord(route.topic, key, value, list(headers), partition=self._partition(route.topic, source_partition))
                for route in self._routes[rule]]

    async def route(self, records: list[Record]) -> None:
        """Route a batch; returns once every resulting record is acknowledged and every direct target's records seen through."""
        out: list[OutRecord] = []
        direct: dict[Route, list[Record]] = {}
        known: dict[str, bool] = {}
        counts: dict[str, int] = {}
        for record in records:
            found = self._match(record)
            if isinstance(found, OutRecord):
                out.append(found)
                continue
            record, value, matched = found
            if not matched:
                continue
            carried = [(k, v) for k, v in record.headers if k in ROUTED_CARRIED_HEADERS] if record.headers else []
            ingested = str(record.timestamp_ms).encode()
            for rule in matched:
                counts[rule] = counts.get(rule, 0) + 1
                headers = [*carried, (INGESTION_HEADER, ingested), *self._group_header, (RULE_HEADER, rule.encode())]
                for route in self._routes[rule]:
                    if route.direct is not None and self._knows(route.direct.writes_to, known):
                        routed = Record(route.topic, record.partition, record.offset, record.timestamp_ms, record.key, value,
                                        tuple(headers))
                        batch = direct.get(route)
                        if batch is None:
                            direct[route] = [routed]
                        else:
                            batch.append(routed)
                    else:
                        out.append(OutRecord(route.topic, record.key, value, list(headers),
                                             partition=self._partition(route.topic, record.partition)))
        for rule, count in counts.items():
            self._metrics.matched(self.bus, rule, count)
        work: list[Awaitable[None]] = [route.direct.handle_all(batch) for route, batch in direct.items()
                                                 if route.direct is not None]
        if out:
            work.append(self._sink.send_all(out))
        if len(work) == 1:
            await work[0]
        elif work:
            await asyncio.gather(*work)

    def _knows(self, topic: str, known: dict[str, bool]) -> bool:
        """Whether the producer knows ``topic`` (asked once per batch: a topic may go, or come)."""
        answer = known.get(topic)
        if answer is None:
            answer = known[topic] = self._partition_count is not None and self._partition_count(topic) > 0
        return answer

    def _set_aside(self, record: Record, error: InvalidEvent) -> OutRecord:
        headers = [*record.headers, (ERROR_HEADER, error.message.encode()), (SOURCE_HEADER, record.where.encode())]
        return OutRecord(invalid_events_topic(self.bus), record.key, record.value or b"", headers)


def _only_named_rules(matched: set[str], headers: tuple[tuple[str, bytes], ...]) -> set[str]:
    for key, value in headers:
        if key == REPLAY_RULES_HEADER:
            return matched & set(value.decode().split(","))
    return matched


def ingestion_time_ms(headers: tuple[tuple[str, bytes], ...], default: int) -> int:
    """When the event was put on its bus, from the header the router wrote."""
    for key, value in headers:
        if key == INGESTION_HEADER:
            try:
                return int(value)
            except ValueError:
                break
    return default


