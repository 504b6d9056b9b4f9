"""Wires a validated topology into a worker: topics, one router per bus, one delivery agent per target, its pipes.

Archives: every bus's router carries an archiver (``eventpipes.archive.archiver``) that
copies matching events into the bus's archives; a thread follows the archive
definitions, so archives created with ``eventpipes archive create`` while the worker
runs are picked up without a restart. Replays: a second router per bus with rules
reads ``eventpipes.replay.<bus>``, where replay jobs put replayed events, and routes
them to the rules the replay named.

All agents of a topology share one consumer group, so several workers started on
the same topology split the partitions between them, as any Kafka consumer group does.
The topology's pipes declared RUNNING run in the same process, each in its own consumer
group (``eventpipes.pipes.embedded``), so they too share out between workers.

A worker takes on all three roles (``ROLES``) unless told otherwise: ``routing`` (bus and
replay topics, archives), ``delivery`` (the targets' delivery topics) and ``pipes``. Workers
of one group with different roles subscribe to different topics of that group (Kafka's
assignors give each topic's partitions to the members that subscribe to it), so routing
and delivery can run in processes of their own: on a multi-core machine each stage then
has a core instead of sharing one interpreter (``benchmarks/routing.py``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from aiohttp import web

from eventpipes.archive.archiver import ArchiveFollower, ArchiveRecord, Archiver
from eventpipes.archive.store import ArchiveStore
from eventpipes.bus.delivery import DeliveryWorker, target_spec
from eventpipes.bus.governed import publish_governance
from eventpipes.bus.put_events import AsyncPutEvents
from eventpipes.bus.metrics import Metrics
from eventpipes.bus.router import Router
from eventpipes.kafka.admin import Admin
from eventpipes.kafka.client_config import KafkaClientConfig, client_config
from eventpipes.kafka.sink import WorkerSink
from eventpipes.kafka.worker import Handler, PartitionWorker
from eventpipes.kafka.offsets import commit_end_offsets_if_new, committed_offsets
from eventpipes.kafka.topics import (
    TopicSpec, bus_topic, bus_topic_spec, delivery_topic, internal_topic_spec, invalid_events_topic, replay_topic, retry_topic,
)
from eventpipes.pipes.embedded import TopologyPipes, pipes_to_run
from eventpipes.records import OutRecord, Record, RecordSink
from eventpipes.retry import Backoff
from eventpipes.settings import Settings
from eventpipes.targets.adapters import EventSender
from eventpipes.targets.base import TargetContext
from eventpipes.targets.build import make_target
from eventpipes.targets.ratelimit import TokenBucket
from eventpipes.topology.model import WORKER_ROLES, ApiDestination, Connection, Topology

log = logging.getLogger(__name__)

#: What a worker can do; ``eventpipes run --role`` picks some of them (default: all).
ROLES: Final = WORKER_ROLES


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    """How one worker of a topology runs."""

    group: str
    """Consumer group shared by every worker of the topology."""
    web_port: int | None
    """Port of the metrics endpoint (``/metrics``), or None for none."""
    definition: str | None = None
    """The topology file (recorded in the desired-state files of the pipes it runs)."""
    roles: frozenset[str] = frozenset(ROLES)
    """Which of ``ROLES`` this worker takes on."""


def default_group(topology_file: str | Path) -> str:
    return f"eventpipes.{Path(topology_file).stem}"


def topic_specs(topology: Topology) -> list[TopicSpec]:
    """Every topic a topology needs: buses, delivery topics, dead-letter and set-aside topics."""
    specs: dict[str, TopicSpec] = {}
    for name in topology.bus_names():
        bus = topology.bus(name)
        specs[bus_topic(name)] = bus_topic_spec(name, bus.partitions, bus.retention_hours)
        specs[invalid_events_topic(name)] = internal_topic_spec(invalid_events_topic(name), 1)
        if topology.rules_on(name):
            specs[replay_topic(name)] = internal_topic_spec(replay_topic(name), bus.partitions)
    for rule in topology.rules:
        partitions = topology.bus(rule.event_bus_name).partitions
        for target in rule.targets:
            for topic in target_topics(rule.event_bus_name, rule.name, target.id):
                specs[topic] = internal_topic_spec(topic, partitions)
            if (target_topic := target.destination_of("Topic")) is not None:
                specs.setdefault(target_topic, TopicSpec(target_topic, partitions))
            if target.dead_letter_config:
                specs.setdefault(target.dead_letter_config.topic, internal_topic_spec(target.dead_letter_config.topic, 1))
    return list(specs.values())


def prepare(topology: Topology, settings: Settings, options: WorkerOptions) -> None:
    """Create missing topics and give a new consumer group its starting point on the buses.

    A new group starts at the end of each bus and replay topic (a rule sees events put
    after it first ran, as in EventBridge; an archive too), and at the end of each
    delivery topic: delivery topics are named by bus, rule and target, not by group, so
    what they hold when a group's routers first start was routed by another group (an
    earlier ``--group``, another deployment) and is not this group's to deliver. Both are
    committed by the first routing worker before it routes anything; a delivery-only
    worker of a group whose routers never started waits for that (``wait_for_routers``).
    The topology's archives are created, or updated where they changed.
    Each declared bus's ``SchemaGovernance`` (or its absence) is published to
    ``eventpipes.buses``, where PutEvents reads it (``eventpipes.bus.governed``).

    Raises:
        ArchiveKeyError: an encrypted archive's key is not in the environment.
        ResourceAlreadyExistsException: an archive of that name reads another bus.
    """
    with Admin(client_config(settings), timeout_seconds=settings.kafka_timeout_seconds) as admin:
        for spec in topic_specs(topology):
            admin.ensure_topic(spec)
    if topology.archives:
        with ArchiveStore(settings) as store:
            for archive in topology.archives:
                store.ensure_archive(archive)
    if topology.event_buses:
        publish_governance(settings, {bus.name: bus.schema_governance for bus in topology.event_buses})
    buses = [bus_topic(name) for name in topology.bus_names()]
    buses += [replay_topic(name) for name in topology.bus_names() if topology.rules_on(name)]
    deliveries = [topic for rule in topology.rules for target in rule.targets
                  for topic in target_topics(rule.event_bus_name, rule.name, target.id)]
    kafka, group = client_config(settings), options.group
    if "routing" in options.roles:
        if not has_offsets(kafka, group, buses):  # this group's routers start now, for the first time
            commit_end_offsets_if_new(kafka, group, deliveries)
        commit_end_offsets_if_new(kafka, group, buses)
    elif "delivery" in options.roles and deliveries:
        wait_for_routers(kafka, group, buses)


def target_topics(bus: str, rule: str, target: str) -> tuple[str, str]:
    """A target's delivery topic (the router fills it) and its retry topic (events waiting for another attempt)."""
    return delivery_topic(bus, rule, target), retry_topic(bus, rule, target)


def has_offsets(kafka: KafkaClientConfig, group: str, topics: list[str]) -> bool:
    """Whether ``group`` has committed an offset on any partition of ``topics``."""
    return any(offset is not None for topic in topics for offset in committed_offsets(kafka, group, topic).values())


def wait_for_routers(kafka: KafkaClientConfig, group: str, buses: list[str], *, poll_seconds: float = 1.0) -> None:
    """Until a routing worker of ``group`` has given it its starting point (see ``prepare``).

    A delivery worker that started reading first would read the delivery topics from their
    beginning: records other groups routed.
    """
    logged = False
    while not has_offsets(kafka, group, buses):
        if not logged:
            log.warning("group %s has not routed yet: waiting for its routing worker "
                        "(eventpipes run FILE --role routing) to start", group)
            logged = True
        time.sleep(poll_seconds)


@dataclass
class Worker:
    """A built worker: run it with ``await worker.run()``; ``stop()`` ends it gracefully."""

    runtime: PartitionWorker
    sink: WorkerSink
    metrics: Metrics
    senders: list[EventSender]
    web_port: int | None
    follower: ArchiveFollower

    output_topics: list[str]
    pipes: TopologyPipes
    """The topology's RUNNING pipes, run next to the routers (``eventpipes.pipes.embedded``)."""
    routing: bool
    """Whether there is anything to route (a file of pipes only has not)."""
    put_events: AsyncPutEvents | None = None
    """PutEvents for the pipes' bus targets (closed with the worker)."""
    web_host: str = "127.0.0.1"
    """Address /metrics binds (``EVENTPIPES_METRICS_HOST``, ``eventpipes run --web-host``)."""

    async def run(self, on_ready: Callable[[], None] | None = None) -> None:
        await self.sink.warm_up(self.output_topics)
        site = await _serve_metrics(self.metrics, self.web_port, self.web_host) if self.web_port else None
        self.follower.start()
        self.pipes.start(on_end=self._pipes_ended)
        try:
            if self.routing:
                await self.runtime.run(on_ready)
            else:
                if on_ready:
                    on_ready()
                await self.pipes.wait()
        finally:
            pipe_failure = await self.pipes.stop()
            self.follower.stop()
            for sender in self.senders:
                await sender.close()
            if self.put_events is not None:
                self.put_events.close()
            await self.sink.stop()
            if site is not None:
                await site.cleanup()
            if pipe_failure is not None:
                raise pipe_failure

    def stop(self) -> None:
        self.runtime.stop()
        self.pipes.request_stop()

    def _pipes_ended(self, error: BaseException | None) -> None:
        if error is not None:  # fail the worker, as a failing router does, rather than run on without the pipe
            self.stop()


def build(topology: Topology, settings: Settings, options: WorkerOptions) -> Worker:
    """The worker for a topology; ``prepare`` must have run first."""
    metrics = Metrics()
    sink = WorkerSink(client_config(settings))
    buckets = {d.name: TokenBucket(d.invocation_rate_limit_per_second) for d in topology.api_destinations}
    handlers: dict[str, Handler] = {}
    senders: list[EventSender] = []
    backoff = Backoff(base_seconds=settings.retry_base_seconds)
    with ArchiveStore(settings) as store:
        archives = list(store.archives().values())
    # A bus partition's events go to one archive partition, in put order, so event time
    # rises along each archive partition and a replay's window is found by timestamp.
    admin = Admin(client_config(settings), timeout_seconds=settings.kafka_timeout_seconds)
    archivers = {name: Archiver(name, _archive_sink(sink), archives, partition_count=partition_count(admin))
                 for name in topology.bus_names()}
    routing, delivery = "routing" in options.roles, "delivery" in options.roles
    for name in topology.bus_names():
        rules = topology.rules_on(name)
        count = sink.partition_count
        if routing:
            handlers[bus_topic(name)] = Router(name, rules, sink, metrics, tap=archivers[name], partition_count=count,
                                               group=options.group).route
            if rules:
                handlers[replay_topic(name)] = Router(name, rules, sink, metrics, replay=True, partition_count=count,
                                                      group=options.group).route
        context = TargetContext(sink, settings.region, settings.account, source_bus=name,
                                api_destination=_destinations(topology, buckets))
        for rule in rules if delivery else []:
            for target in rule.targets:
                sender = EventSender(make_target(target_spec(rule, target), context))
                senders.append(sender)
                worker = DeliveryWorker(name, rule, target, sender, sink, metrics, region=settings.region,
                                        account=settings.account, backoff=backoff, group=options.group)
                handlers[delivery_topic(name, rule.name, target.id)] = _deliver_all(worker)
                handlers[worker.retry_topic] = worker.handle_retries
    runtime = PartitionWorker(client_config(settings), options.group, handlers)
    follower = ArchiveFollower(client_config(settings), archivers if routing else {})
    outputs = sorted({spec.name for spec in topic_specs(topology)} - set(handlers))
    put_events = AsyncPutEvents(settings)
    pipes = TopologyPipes(pipes_to_run(topology.pipes) if "pipes" in options.roles else (), settings,
                          definition=options.definition, put_events=put_events)
    return Worker(runtime, sink, metrics, senders, options.web_port, follower, outputs + sorted(handlers), pipes,
                  routing=bool(handlers), put_events=put_events, web_host=settings.metrics_host)


def partition_count(admin: Admin) -> Callable[[str], int]:
    return lambda topic: len(admin.partitions_of(topic))


def _archive_sink(sink: WorkerSink) -> Callable[[list[ArchiveRecord]], Awaitable[None]]:
    """Archive records go through the worker's producer, with the event's time as record timestamp."""

    async def send(records: list[ArchiveRecord]) -> None:
        await sink.send_all([OutRecord(r.topic, r.key, r.value, list(r.headers), r.timestamp_ms, r.partition) for r in records])

    return send


def _destinations(topology: Topology, buckets: dict[str, TokenBucket]) -> Callable[[str], tuple[ApiDestination, Connection, TokenBucket]]:
    """API destination name → the destination, its connection and its rate limit (one per destination)."""

    def resolve(name: str) -> tuple[ApiDestination, Connection, TokenBucket]:
        destination = topology.api_destination(name)
        return destination, topology.connection(destination.connection_name), buckets[name]

    return resolve


def _deliver_all(worker: DeliveryWorker) -> Handler:
    # The batch is finished once every event is delivered or dead-lettered.
    return worker.handle_all


async def _serve_metrics(metrics: Metrics, port: int, host: str) -> web.AppRunner:
    async def page(request: web.Request) -> web.Response:
        return web.Response(body=metrics.exposition(), content_type="text/plain", charset="utf-8")

    app = web.Application()
    app.router.add_get("/metrics", page)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
