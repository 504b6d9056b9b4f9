"""The routing agent: an eventpipes bus routed inside a Faust app, onto the delivery topics eventpipes' worker writes.

``route_bus(app, bus, rules, group=...)`` declares the bus topic (and the bus's replay topic)
on the app and an agent that reads it in batches (``Stream.noack_take``), matches every rule
at once and writes each match with eventpipes' own ``Router`` (``eventpipes.bus.router``): the
same delivery topic, key, value, headers (ingestion time, rule, group, carried trace and bus
path) and partition (the bus partition's number), so eventpipes' delivery workers of that
group cannot tell Faust's records from their own routing worker's. Records that are not events
are set aside on ``eventpipes.invalid.<bus>`` as the router does; governed (Avro) buses are
decoded by the router's ``BusDecoder`` (registry from ``SCHEMA_REGISTRY_URL``).

Guarantees, with Faust's acknowledgements as the commit point:

* A batch's events are acknowledged (so their offsets may be committed) only after Kafka
  acknowledged every record routed from them. ``noack_take`` never acknowledges what it
  takes (``take_events`` acknowledges a batch when the agent asks for the next one, and when
  its generator is closed after a failure: the route used to hold one more reference on each
  message against that); the route acknowledges each event (``Stream.ack``) once the produce
  that carried its records succeeded. A batch whose produce fails is never acknowledged: it is held and routed
  again with backoff, logged each time, and the bus waits behind it (nothing after it is
  committed, and consumption stops once ``MAX_IN_FLIGHT`` events wait). The agent does not
  crash the app: ``App.crash`` left a Faust 0.15.3 worker running with its agent restarted
  by the supervisor, routing on past the failed batch. If the app stops meanwhile, the
  held batch is routed again after the restart.
* One actor (``concurrency=1``) routes the bus, so each bus partition's events are planned and
  handed to the producer in bus order, and reach their delivery partition in that order.
  While up to ``MAX_IN_FLIGHT`` events await their acknowledgements, the actor takes the
  next batch, as eventpipes' worker overlaps a partition's batches.
* At least once across crashes and rebalances: what was routed but not yet committed is
  routed again (duplicates possible, never loss).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from itertools import groupby
from pathlib import Path
from typing import Any, Literal, Protocol

from eventpipes.app import default_group
from eventpipes.schemas.codec import BusDecoder
from eventpipes.bus.metrics import Metrics
from eventpipes.bus.router import Router
from eventpipes.faust.errors import RouteConfigurationError
from eventpipes.faust.prepare import RoutePlan, prepare
from eventpipes.faust.producer import PackingProducer
from eventpipes.faust.sink import FaustSink, record_of
from eventpipes.kafka.client_config import KafkaClientConfig, client_config
from eventpipes.settings import get_settings
from eventpipes.kafka.topics import bus_topic, replay_topic
from eventpipes.records import OutRecord, Record
from eventpipes.topology import Rule, Topology, load_file
from eventpipes.topology.model import EventBus

log = logging.getLogger(__name__)

#: Events per batch at most (across the bus's partitions). A batch is one produce round trip
#: (acks=all) and one acknowledgement pass; Faust's ``noack_take`` fills it from its stream
#: buffer event by event. eventpipes' own worker takes up to 2,000 per partition.
BATCH_SIZE = 1000

#: Seconds a partial batch waits for more events: the latency floor under light load.
WITHIN = 0.05

#: Events taken whose records await their acknowledgements at most; the actor takes the next
#: batch meanwhile. With one batch in flight the actor idled for each produce round trip and
#: Faust's consumption stopped with it (60% of Faust's take-only ceiling on a 5,000-event
#: one-match run); with ``LINGER`` a produce carries the batches of up to ``LINGER`` seconds,
#: so the bound is in events (a few ``BATCH_SIZE``s), not in batches.
MAX_IN_FLIGHT = 8 * BATCH_SIZE

#: Seconds between two produces of the batched producer at most often. A produce is one batch
#: per delivery partition, and each batch costs ~25 µs of CPU in aiokafka whatever it holds:
#: with 300 delivery partitions, Faust's batches of 150-300 events (what its stream buffers in
#: ``WITHIN`` on a busy machine) gave one to three records a batch. Under load the records of
#: ``LINGER`` seconds go out together instead; an event on an idle bus is produced at once.
LINGER = 0.3

#: A batch whose produce failed is routed again after this long, doubling up to the maximum:
#: a broker that comes back is used within seconds, a lasting fault is logged twice a minute.
RETRY_FIRST_SECONDS = 1.0
RETRY_MAX_SECONDS = 30.0

RulesSource = Topology | str | Path | Sequence[Rule]

#: How the route produces: through a producer of its own that packs each delivery partition's
#: records into one batch (``eventpipes.faust.producer``), or through the Faust app's producer
#: (``app.producer.send`` per record).
ProducerChoice = Literal["batched", "faust"]


class RouteSink(Protocol):
    """Produces records in the order given (an iterable, consumed once) and returns once Kafka acknowledged all of them."""

    async def send_all(self, records: Iterable[OutRecord]) -> None: ...


class BusRoute:
    """One bus routed by a Faust app (made by ``route_bus``): its plan, its agent, its metrics."""

    def __init__(self, app: Any, plan: RoutePlan, *, kafka: KafkaClientConfig, batch_size: int, within: float,
                 decoder: BusDecoder | None, name: str, producer: ProducerChoice = "batched",
                 max_in_flight: int = MAX_IN_FLIGHT, linger: float = LINGER) -> None:
        self.app = app
        self.plan = plan
        self.metrics = Metrics()
        """Rules matched and events set aside (Prometheus counters, as eventpipes' routing worker counts them)."""
        self._kafka = kafka
        self._batch_size = batch_size
        self._within = within
        self._max_in_flight = max_in_flight
        self._counts: dict[str, int] = {}
        self._prepared = False
        self._lock = threading.Lock()
        rules = list(plan.topology.rules)
        self._own: PackingProducer | None = None
        self.sink: RouteSink
        """Where the planned records go: the route's own producer, or the app's (``producer=``)."""
        if producer == "batched":
            self.sink = self._own = PackingProducer(kafka, linger=linger)
            app.on_before_shutdown.connect(self._stop_producer)
        else:
            self.sink = FaustSink(app)
        count = self._counts.get
        # The routers plan (decode, match, delivery records); the route hands their records to
        # its sink itself, one record at a time, so none is kept until the produce (see producer.py).
        self._routers = {
            bus_topic(plan.bus): Router(plan.bus, rules, self.sink, self.metrics, decoder=decoder,
                                        partition_count=lambda t: count(t, 0), group=plan.group),
            replay_topic(plan.bus): Router(plan.bus, rules, self.sink, self.metrics, replay=True, decoder=decoder,
                                           partition_count=lambda t: count(t, 0), group=plan.group),
        }
        self.topic = app.topic(*plan.sources, key_serializer="raw", value_serializer="raw")
        """The Faust topic the agent reads: the bus and its replay topic, raw bytes."""
        self.agent = app.agent(self.topic, name=name, concurrency=1)(self._route)
        """The Faust agent that routes the bus."""
        app.on_worker_init.connect(self._on_worker_init)

    def prepare(self) -> None:
        """Create the route's topics and fix its starting points (``eventpipes.faust.prepare``); once per process.

        ``faust worker`` runs it before the worker starts (``app.on_worker_init``); the agent
        runs it first if nothing did (a worker started from code).
        """
        with self._lock:
            if not self._prepared:
                self._counts.update(prepare(self.plan, self._kafka))
                self._prepared = True

    def _on_worker_init(self, sender: Any, **kwargs: Any) -> None:
        self.prepare()

    async def _stop_producer(self, sender: Any, **kwargs: Any) -> None:
        if self._own is not None:  # after the consumer stopped: nothing routes any more
            await self._own.stop()

    async def _route(self, stream: Any) -> None:
        if not self._prepared:
            await asyncio.get_running_loop().run_in_executor(None, self.prepare)
        if self._own is not None:
            await self._own.warm_up(self.plan.deliveries)  # one metadata request for every delivery topic
        in_flight: deque[tuple[int, asyncio.Future[None]]] = deque()
        waiting = 0  # events in flight
        try:
            async for events in stream.noack_take(self._batch_size, within=self._within):
                in_flight.append((len(events), asyncio.ensure_future(self._deliver(stream, events))))
                waiting += len(events)
                while in_flight and (waiting >= self._max_in_flight or in_flight[0][1].done()):
                    count, delivered = in_flight.popleft()
                    await delivered
                    waiting -= count
            while in_flight:
                await in_flight.popleft()[1]
        finally:
            for _, batch in in_flight:  # the agent stops: batches not delivered stay unacknowledged
                batch.cancel()

    async def _deliver(self, stream: Any, events: list[Any]) -> None:
        """Route one batch until Kafka takes it, then acknowledge its events; a failure holds the bus."""
        delay = RETRY_FIRST_SECONDS
        while True:
            try:
                await self.route([record_of(event) for event in events])
                break
            except Exception as exc:  # held, not skipped: nothing after it is committed meanwhile
                first = events[0].message
                log.error("routing bus %s failed at %s[%d]@%d (%s: %s); the batch is held and retried in %.0f s",
                          self.plan.bus, first.topic, first.partition, first.offset, type(exc).__name__, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_SECONDS)
        ack = stream.ack
        for event in events:
            await ack(event)  # Faust may now commit past it

    async def route(self, records: list[Record]) -> None:
        """Route bus (and replay) records; returns once Kafka acknowledged every record written.

        Each bus partition's records are planned and handed over in the order given (a batch
        of bus and replay records interleaves the two topics, each in its own order).
        """
        if records:
            planned = self._planned(records)
            del records  # the records die once planned, not after the produce (fewer survivors for the collector)
            await self.sink.send_all(planned)

    def _planned(self, records: list[Record]) -> Iterator[OutRecord]:
        routers = self._routers
        for topic, run in groupby(records, key=_topic):  # runs of one topic, in the order given
            yield from routers[topic].plan_all(run)


def _topic(record: Record) -> str:
    return record.topic


def route_bus(app: Any, bus: str, rules: RulesSource, *, group: str | None = None, partitions: int | None = None,
              kafka: KafkaClientConfig | None = None, batch_size: int = BATCH_SIZE, within: float = WITHIN,
              decoder: BusDecoder | None = None, name: str | None = None, producer: ProducerChoice = "batched",
              linger: float = LINGER) -> BusRoute:
    """Route bus ``bus`` inside Faust app ``app`` to its rules' delivery topics.

    Args:
        app: the Faust app (``faust.App``).
        bus: the bus's name (topic ``eventpipes.bus.<bus>``).
        rules: a topology, the path of a topology file, or the bus's rules.
        group: the eventpipes group whose delivery workers deliver what this route writes
            (``eventpipes run FILE --role delivery --group GROUP``). Default for a topology
            file: the group ``eventpipes run FILE`` uses (``eventpipes.<file stem>``).
            It must not be the Faust app's id: Faust's consumer group and eventpipes' cannot
            be one group (their partition assignors differ).
        partitions: the bus's partition count when ``rules`` is a list (default: the
            EventBus default, 3); a topology declares its own.
        kafka: the cluster for the topic and offset set-up, with its security settings; default
            eventpipes' own client configuration (``KAFKA_BOOTSTRAP_SERVERS``, ``KAFKA_CLIENT_PROPERTIES``,
            ...) pointed at the app's broker.
        batch_size: events per batch at most (``Stream.noack_take``).
        within: seconds a partial batch waits for more events.
        decoder: reads bus records (a registry client for governed buses); default ``BusDecoder()``.
        name: the agent's name; default ``eventpipes.route.<bus>``.
        producer: ``"batched"`` (the default): a producer of the route's own, configured by
            ``kafka`` (so by eventpipes' client settings, not the app's), which packs each
            delivery partition's records into one batch as eventpipes' worker does and, under
            load, the records of ``linger`` seconds into one produce. ``"faust"``: the app's
            producer and its settings, one ``send`` per record (Faust's public API; aiokafka's
            accumulator batches them per partition); it costs more CPU per event
            (benchmarks/faust.py compares them).
        linger: with the batched producer, seconds between two produces at most often (see ``LINGER``).

    Returns:
        The route; its ``agent`` is registered on ``app``.

    Raises:
        TopologyError: the topology file is not valid.
        RouteConfigurationError: no rules on ``bus``, no group, or the group is the app's id.
        InvalidEventPattern: a rule's pattern is invalid.
    """
    topology = _topology(bus, rules, partitions)
    if group is None:
        if not isinstance(rules, (str, Path)):
            raise RouteConfigurationError("route_bus needs group= (the eventpipes group that delivers) "
                                          "unless rules is a topology file")
        group = default_group(rules)
    faust_group = str(app.conf.id)
    if group == faust_group:
        raise RouteConfigurationError(f"group {group!r} is the Faust app's id: give the route an eventpipes group of its own")
    plan = RoutePlan(bus, topology, group, faust_group)
    kafka = kafka or client_config(get_settings().model_copy(update={"kafka_bootstrap_servers": _bootstrap(app)}))
    return BusRoute(app, plan, kafka=kafka, batch_size=batch_size, within=within,
                    decoder=decoder, name=name or f"eventpipes.route.{bus}", producer=producer, linger=linger)


def _topology(bus: str, source: RulesSource, partitions: int | None) -> Topology:
    """Just ``bus``, its rules and what their targets refer to."""
    if isinstance(source, (Topology, str, Path)):
        whole = source if isinstance(source, Topology) else load_file(source)
        rules = whole.rules_on(bus)
        declared = whole.bus(bus) if bus in {b.name for b in whole.event_buses} else EventBus(Name=bus)
        connections, destinations = whole.connections, whole.api_destinations
    else:
        rules = [rule for rule in source if rule.event_bus_name == bus]
        declared = EventBus(Name=bus) if partitions is None else EventBus(Name=bus, Partitions=partitions)
        connections, destinations = (), ()
    if not rules:
        raise RouteConfigurationError(f"no rules on bus {bus!r} to route")
    return Topology(EventBuses=(declared,), Rules=tuple(rules), Connections=connections, ApiDestinations=destinations)


def _bootstrap(app: Any) -> str:
    """``host:port,...`` of the app's ``broker`` setting (``kafka://host:port;...``)."""
    return ",".join(f"{url.host}:{url.port or 9092}" for url in app.conf.broker)
