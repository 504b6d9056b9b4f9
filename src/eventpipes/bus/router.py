"""The router: one per bus, matching each event against all of the bus's rules at once.

Each match becomes a record of that target's own delivery topic, so a slow or
failing target never holds back the bus, another rule or another target. The
router's work on a batch is finished (and its offsets may be committed) only once
Kafka acknowledged every record it produced for that batch.
"""

from __future__ import annotations

from dataclasses import dataclass

from eventpipes.bus.metrics import Metrics
from eventpipes.records import OutRecord, RecordSink
from eventpipes.events.envelope import Event
from eventpipes.events.errors import InvalidEvent
from eventpipes.kafka.topics import delivery_topic, invalid_events_topic
from eventpipes.patterns import Ruler
from eventpipes.records import Record
from eventpipes.topology.model import Rule

INGESTION_HEADER = "eventpipes-ingestion-time"
RULE_HEADER = "eventpipes-rule"
ERROR_HEADER = "eventpipes-error"

#: Headers of the bus record the router carries on to delivery records.
CARRIED_HEADERS = frozenset({"trace-header", "eventpipes-path"})


@dataclass(frozen=True, slots=True)
class Route:
    """One target of one rule, and the topic that feeds it."""

    rule: str
    target: str
    topic: str


class Router:
    """Routes the events of one bus to the delivery topics of its enabled rules' targets."""

    def __init__(self, bus: str, rules: list[Rule], sink: RecordSink, metrics: Metrics) -> None:
        self.bus = bus
        self._sink = sink
        self._metrics = metrics
        enabled = [rule for rule in rules if rule.state == "ENABLED"]
        self._ruler = Ruler({rule.name: rule.event_pattern for rule in enabled})
        self._routes = {rule.name: [Route(rule.name, t.id, delivery_topic(bus, rule.name, t.id)) for t in rule.targets] for rule in enabled}

    def plan(self, record: Record) -> list[OutRecord]:
        """The records a bus record turns into: one per target of each matching rule."""
        try:
            event = Event.from_json(record.value or b"")
        except InvalidEvent as error:
            self._metrics.invalid_event(self.bus)
            return [self._set_aside(record, error)]
        body = event.to_dict()
        headers = [(k, v) for k, v in record.headers if k in CARRIED_HEADERS]
        headers.append((INGESTION_HEADER, str(record.timestamp_ms).encode()))
        out = []
        for rule in sorted(self._ruler.matches(body)):
            self._metrics.matched(self.bus, rule)
            for route in self._routes[rule]:
                out.append(OutRecord(route.topic, record.key, record.value or b"", [*headers, (RULE_HEADER, rule.encode())]))
        return out

    async def route(self, records: list[Record]) -> None:
        """Route a batch; returns once every resulting record is acknowledged."""
        out = [planned for record in records for planned in self.plan(record)]
        if out:
            await self._sink.send_all(out)

    def _set_aside(self, record: Record, error: InvalidEvent) -> OutRecord:
        headers = [*record.headers, (ERROR_HEADER, error.message.encode()), ("eventpipes-source", record.where.encode())]
        return OutRecord(invalid_events_topic(self.bus), record.key, record.value or b"", headers)


def ingestion_time_ms(headers: tuple[tuple[str, bytes], ...], default: int) -> int:
    """When the event was put on its bus, from the header the router wrote."""
    for key, value in headers:
        if key == INGESTION_HEADER:
            try:
                return int(value)
            except ValueError:
                break
    return default


