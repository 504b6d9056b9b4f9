"""The router: one per bus, matching each event against all of the bus's rules at once.

Each match becomes a record of that target's own delivery topic, so a slow or
failing target never holds back the bus, another rule or another target. The
router's work on a batch is finished (and its offsets may be committed) only once
Kafka acknowledged every record it produced for that batch.

Archives read the bus on their own (``eventpipes.archive.running``), not through the router.
A second router per bus reads the bus's replay topic (``replay=True``): it routes
replayed events only to the rules the replay named (header ``eventpipes-replay-rules``,
EventBridge's ``FilterArns``; absent: every rule) and never archives them.

Bus records are read with ``schemas.codec.BusDecoder``: JSON envelopes, or Avro details of a
schema-governed bus, which the router passes on as JSON envelopes. A record that is neither
is set aside on ``eventpipes.invalid.<bus>`` with the reason and where it was.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from collections.abc import Callable


from eventpipes.kafka.headers import ERROR_HEADER, GROUP_HEADER, INGESTION_HEADER, REPLAY_RULES_HEADER, ROUTED_CARRIED_HEADERS, RULE_HEADER, SOURCE_HEADER
from eventpipes.schemas.codec import BusDecoder
from eventpipes.bus.metrics import Metrics
from eventpipes.records import OutRecord, RecordSink
from eventpipes.events.errors import InvalidEvent
from eventpipes.kafka.partitioning import SamePartition
from eventpipes.kafka.topics import delivery_topic, invalid_events_topic
from eventpipes.patterns import Ruler
from eventpipes.records import Record
from eventpipes.topology.model import Rule




@dataclass(frozen=True, slots=True)
class Route:
    """One target of one rule, and the topic that feeds it."""

    rule: str
    target: str
    topic: str


class Router:
    """Routes the events of one bus to the delivery topics of its enabled rules' targets."""

    def __init__(self, bus: str, rules: list[Rule], sink: RecordSink, metrics: Metrics, *,
                 replay: bool = False, decoder: BusDecoder | None = None,
                 partition_count: Callable[[str], int] | None = None, group: str | None = None) -> None:
        self.bus = bus
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
        ruler = Ruler({rule.name: rule.event_pattern for rule in enabled})
        self._routes = {rule.name: [Route(rule.name, t.id, delivery_topic(self.bus, rule.name, t.id)) for t in rule.targets]
                        for rule in enabled}
        self._ruler = ruler
        self._since = {name: ms for name, ms in (since_ms or {}).items() if name in self._routes and ms > 0}
        self.rules = list(rules)

    @property
    def since_ms(self) -> dict[str, int]:
        """Rules that match only bus records from some time on (see ``update``), and that time."""
        return dict(self._since)

    def plan(self, record: Record) -> list[OutRecord]:
        """The records a bus record turns into: one per target of each matching rule."""
        return self._plan(record)

    def _plan(self, record: Record) -> list[OutRecord]:
        try:
            body, value = self._decoder.envelope(record)
        except InvalidEvent as error:
            self._metrics.invalid_event(self.bus)
            return [self._set_aside(record, error)]
        if value is not record.value:
            # Schema-governed bus: targets, archives and replays get the JSON envelope (schemas.codec).
            record = dataclasses.replace(record, value=value)
        matched = self._ruler.matches(body)
        if self.replay:
            matched = _only_named_rules(matched, record.headers)
        if self._since and matched and not self.replay:  # a replay routes to the rules in force now
            matched = {rule for rule in matched if record.timestamp_ms >= self._since.get(rule, 0)}
        if not matched:
            return []
        headers = [(k, v) for k, v in record.headers if k in ROUTED_CARRIED_HEADERS]
        headers.append((INGESTION_HEADER, str(record.timestamp_ms).encode()))
        headers += self._group_header
        out = []
        for rule in sorted(matched):
            self._metrics.matched(self.bus, rule)
            for route in self._routes[rule]:
                out.append(OutRecord(route.topic, record.key, value, [*headers, (RULE_HEADER, rule.encode())],
                                     partition=self._partition(route.topic, record.partition)))
        return out

    async def route(self, records: list[Record]) -> None:
        """Route a batch; returns once every resulting record is acknowledged."""
        out = [planned for record in records for planned in self._plan(record)]
        if out:
            await self._sink.send_all(out)

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


