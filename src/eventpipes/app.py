"""Wires a validated topology into a worker: topics, one router per bus, one delivery agent per target, its pipes.

Archives: each archive of the worker's buses reads its bus as a consumer group of its own
(``eventpipes.archive.running``), following the archive definitions, so archives created with
``eventpipes archive create`` while the worker runs are picked up without a restart. Replays: a second router per bus with rules
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

Scheduled rules: every routing worker runs a ``ScheduleTicker`` for the topology's ENABLED
scheduled rules, in the worker's group; one of them at a time owns the schedules and fires
each tick once (``docs/scheduled-rules.md``). A tick's records are written as the default
bus's router writes a matched event (``eventpipes.bus.scheduled``), in the tick's Kafka
transaction, which is why the worker reads ``read_committed``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from aiohttp import web

from eventpipes.archive.archiver import ArchiveRecord
from eventpipes.archive.running import Archiving
from eventpipes.archive.store import ArchiveStore
from eventpipes.schemas.codec import BusDecoder
from eventpipes.bus.governed import publish_governance
from eventpipes.bus.put_events import AsyncPutEvents
from eventpipes.bus.metrics import Metrics
from eventpipes.bus.router import Router
from eventpipes.bus.scheduled import ScheduledOutputs, scheduled_rules
from eventpipes.kafka.admin import Admin
from eventpipes.kafka.schedule_ticker import ScheduleTicker
from eventpipes.kafka.client_config import KafkaClientConfig, client_config
from eventpipes.kafka.sink import WorkerSink
from eventpipes.kafka.worker import PartitionWorker
from eventpipes.kafka.offsets import commit_end_offsets_if_new, committed_offsets
from eventpipes.kafka.topics import (
    TopicSpec, bus_topic, bus_topic_spec, delivery_topic, internal_topic_spec, invalid_events_topic, replay_topic, retry_topic,
    schedules_topic_spec,
)
from eventpipes.pipes.embedded import TopologyPipes, pipes_to_run
from eventpipes.records import OutRecord
from eventpipes.parts import WorkerParts
from eventpipes.settings import Settings
from eventpipes.targets.adapters import EventSender
from eventpipes.arns import DEFAULT_BUS
from eventpipes.topology.model import WORKER_ROLES, Topology

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


def prepare(topology: Topology, settings: Settings, options: WorkerOptions, previous: Topology | None = None) -> None:
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

    With ``previous`` (a running worker's topology, changing into ``topology``) only what is
    new is made, and no offset is committed (see the comment below).

    Raises:
        ArchiveKeyError: an encrypted archive's key is not in the environment.
        ResourceAlreadyExistsException: an archive of that name reads another bus.
    """
    known = {spec.name for spec in topic_specs(previous)} if previous is not None else set()
    with Admin(client_config(settings), timeout_seconds=settings.kafka_timeout_seconds) as admin:
        for spec in topic_specs(topology):
            if spec.name not in known:
                admin.ensure_topic(spec)
        if "routing" in options.roles and topology.scheduled_rules():
            admin.ensure_topic(schedules_topic_spec(options.group))  # the group's schedule progress
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
    if previous is not None:
        # A running group cannot have offsets committed from outside (Kafka refuses a non-member's
        # commit), and needs none: a topic new to the worker is read from its beginning, which for
        # a topic this change created is everything; the routers' new rules match only events put
        # from the change on, so an existing bus read anew routes nothing older to them.
        return
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
    parts: WorkerParts
    """Routers and delivery workers, updated in place by ``reconfigure``."""
    web_port: int | None
    archiving: Archiving

    output_topics: list[str]
    pipes: TopologyPipes
    """The topology's RUNNING pipes, run next to the routers (``eventpipes.pipes.embedded``)."""
    routing: bool
    """Whether there is anything to route (a file of pipes only has not)."""
    put_events: AsyncPutEvents | None = None
    """PutEvents for the pipes' bus targets (closed with the worker)."""
    web_host: str = "127.0.0.1"
    """Address /metrics binds (``EVENTPIPES_METRICS_HOST``, ``eventpipes run --web-host``)."""
    settings: Settings | None = None
    options: WorkerOptions | None = None
    ticker: ScheduleTicker | None = None
    """Fires the topology's scheduled rules (routing workers with scheduled rules only)."""
    _ticking: asyncio.Task[None] | None = None

    async def run(self, on_ready: Callable[[], None] | None = None) -> None:
        await self.sink.warm_up(self.output_topics)
        site = await _serve_metrics(self.metrics, self.web_port, self.web_host) if self.web_port else None
        self.archiving.start()
        self.pipes.start(on_end=self._pipes_ended)
        self._start_ticker()
        try:
            if self.routing:
                await self.runtime.run(on_ready)
            else:
                if on_ready:
                    on_ready()
                await self.pipes.wait()
        finally:
            ticker_failure = await self._stop_ticker(self._ticking)
            pipe_failure = await self.pipes.stop()
            await self.archiving.stop()
            for sender in self.parts.senders():
                await sender.close()
            if self.put_events is not None:
                self.put_events.close()
            await self.sink.stop()
            if site is not None:
                await site.cleanup()
            if ticker_failure is not None:
                raise ticker_failure
            if pipe_failure is not None:
                raise pipe_failure

    def stop(self) -> None:
        self.runtime.stop()
        self.pipes.request_stop()
        if self.ticker is not None:
            self.ticker.stop()

    def _reschedule(self, topology: Topology) -> None:
        """The ticker follows the topology's scheduled rules: updated, or started with the first of them."""
        assert self.settings is not None and self.options is not None
        if self.ticker is not None:
            self.ticker.update_rules(scheduled_rules(topology, region=self.settings.region, account=self.settings.account))
            return
        with Admin(client_config(self.settings), timeout_seconds=self.settings.kafka_timeout_seconds) as admin:
            self.ticker = _ticker(topology, self.settings, self.options, self.parts.routers.get(bus_topic(DEFAULT_BUS)), admin)
        self._start_ticker()

    def _start_ticker(self) -> None:
        if self.ticker is not None and self._ticking is None:
            self._ticking = asyncio.create_task(self.ticker.run())
            self._ticking.add_done_callback(self._ticker_ended)

    def _ticker_ended(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:  # fail the worker, as a failing router does
            log.error("schedule ticker failed; stopping the worker", exc_info=task.exception())
            self.stop()

    async def _stop_ticker(self, task: asyncio.Task[None] | None) -> BaseException | None:
        """Stop the ticker (after its transaction in flight) and return its failure, if it failed."""
        if task is None or self.ticker is None:
            return None
        self.ticker.stop()
        await asyncio.gather(task, return_exceptions=True)
        return None if task.cancelled() else task.exception()

    async def reconfigure(self, topology: Topology) -> None:
        """Bring the running worker to ``topology`` without a restart (see ``eventpipes.parts``).

        New topics are made and given their starting point first (``prepare`` does the same
        for a whole topology), so that no router writes to a delivery topic before its
        starting offset is fixed; then routers, delivery workers and pipes change.

        Raises:
            EventPipesError: a topic, an archive or a target cannot be made (nothing changed).
        """
        assert self.settings is not None and self.options is not None
        previous = self.parts.topology
        await asyncio.to_thread(prepare, topology, self.settings, self.options, previous)
        dropped = self.parts.apply(topology, now_ms=int(time.time() * 1000))
        handlers = self.parts.handlers()
        await self.sink.warm_up(sorted(set(handlers) | {spec.name for spec in topic_specs(topology)}))
        await self.runtime.update_handlers(handlers)
        self.pipes.update(pipes_to_run(topology.pipes) if "pipes" in self.options.roles else ())
        if "routing" in self.options.roles:
            await self.archiving.update_buses(topology.bus_names())
            self._reschedule(topology)
        if dropped:
            # Batches already handed to a dropped target finish with it; close it once they have.
            asyncio.get_running_loop().call_later(DROPPED_SENDER_GRACE_SECONDS, _close_later, dropped)

    def _pipes_ended(self, error: BaseException | None) -> None:
        if error is not None:  # fail the worker, as a failing router does, rather than run on without the pipe
            self.stop()


def build(topology: Topology, settings: Settings, options: WorkerOptions) -> Worker:
    """The worker for a topology; ``prepare`` must have run first."""
    metrics = Metrics()
    sink = WorkerSink(client_config(settings))
    # A bus partition's events go to one archive partition, in put order, so event time
    # rises along each archive partition and a replay's window is found by timestamp.
    admin = Admin(client_config(settings), timeout_seconds=settings.kafka_timeout_seconds)
    archiving = Archiving(client_config(settings), topology.bus_names() if "routing" in options.roles else (),
                          _archive_sink(sink), BusDecoder().envelope, partition_count=partition_count(admin))
    parts = WorkerParts(settings, options.group, options.roles, sink, metrics)
    parts.apply(topology)
    handlers = parts.handlers()
    runtime = PartitionWorker(client_config(settings), options.group, handlers)
    outputs = sorted({spec.name for spec in topic_specs(topology)} - set(handlers))
    put_events = AsyncPutEvents(settings)
    pipes = TopologyPipes(pipes_to_run(topology.pipes) if "pipes" in options.roles else (), settings,
                          definition=options.definition, put_events=put_events)
    ticker = _ticker(topology, settings, options, parts.routers.get(bus_topic(DEFAULT_BUS)), admin) \
        if "routing" in options.roles else None
    return Worker(runtime, sink, metrics, parts, options.web_port, archiving, outputs + sorted(handlers), pipes,
                  routing=bool(handlers), put_events=put_events, web_host=settings.metrics_host, settings=settings,
                  options=options, ticker=ticker)


#: A target dropped by a live change is closed this long after (its batches in flight finish first).
DROPPED_SENDER_GRACE_SECONDS = 30.0


def _close_later(senders: list[EventSender]) -> None:
    for sender in senders:
        asyncio.ensure_future(sender.close())


def _ticker(topology: Topology, settings: Settings, options: WorkerOptions, router: Router | None,
            admin: Admin) -> ScheduleTicker | None:
    """The ticker of the topology's enabled scheduled rules, in the worker's group (None: it has none)."""
    rules = scheduled_rules(topology, region=settings.region, account=settings.account)
    if not rules or router is None:
        return None
    # The bus topic's own count (an existing topic keeps its partitions whatever the topology says).
    partitions = len(admin.partitions_of(bus_topic(DEFAULT_BUS))) or topology.bus(DEFAULT_BUS).partitions
    outputs = ScheduledOutputs(router, bus_partitions=partitions, region=settings.region, account=settings.account)
    return ScheduleTicker(client_config(settings), options.group, rules, outputs)


def partition_count(admin: Admin) -> Callable[[str], int]:
    return lambda topic: len(admin.partitions_of(topic))


def _archive_sink(sink: WorkerSink) -> Callable[[list[ArchiveRecord]], Awaitable[None]]:
    """Archive records go through the worker's producer, with the event's time as record timestamp."""

    async def send(records: list[ArchiveRecord]) -> None:
        await sink.send_all([OutRecord(r.topic, r.key, r.value, list(r.headers), r.timestamp_ms, r.partition) for r in records])

    return send




async def _serve_metrics(metrics: Metrics, port: int, host: str) -> web.AppRunner:
    async def page(request: web.Request) -> web.Response:
        return web.Response(body=metrics.exposition(), content_type="text/plain", charset="utf-8")

    app = web.Application()
    app.router.add_get("/metrics", page)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
