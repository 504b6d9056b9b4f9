"""Wires a validated topology into a Faust worker: topics, one router per bus, one delivery agent per target.

Archives: every bus's router carries an archiver (``eventpipes.archive.archiver``) that
copies matching events into the bus's archives; a thread follows the archive
definitions, so archives created with ``eventpipes archive create`` while the worker
runs are picked up without a restart. Replays: a second router per bus with rules
reads ``eventpipes.replay.<bus>``, where replay jobs put replayed events, and routes
them to the rules the replay named.

All agents of a topology share one consumer group, so several workers started on
the same topology split the partitions between them, as any Kafka consumer group does.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faust
from aiohttp import web

from eventpipes.archive.archiver import ArchiveFollower, Archiver, FaustArchiveSink
from eventpipes.archive.store import ArchiveStore
from eventpipes.bus.delivery import DeliveryWorker
from eventpipes.bus.metrics import Metrics
from eventpipes.bus.router import Router
from eventpipes.bus.targets.base import TargetSender
from eventpipes.bus.targets.bus import BusTarget
from eventpipes.bus.targets.function import FunctionTarget
from eventpipes.bus.targets.http import HttpTarget
from eventpipes.bus.targets.ratelimit import TokenBucket
from eventpipes.bus.targets.topic import TopicTarget
from eventpipes.kafka.admin import Admin
from eventpipes.kafka.faust_app import FaustSink, make_app, to_record
from eventpipes.kafka.offsets import commit_end_offsets_if_new
from eventpipes.kafka.topics import (
    TopicSpec, bus_topic, bus_topic_spec, delivery_topic, internal_topic_spec, invalid_events_topic, replay_topic,
)
from eventpipes.records import RecordSink
from eventpipes.retry import Backoff
from eventpipes.settings import Settings
from eventpipes.topology.model import Rule, Target, Topology

log = logging.getLogger(__name__)

#: Router batches: up to this many events, or whatever arrived within ROUTER_WINDOW seconds.
#: One acknowledgement round trip per batch keeps at-least-once cheap.
ROUTER_BATCH = 500
ROUTER_WINDOW = 0.005


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    """How one worker of a topology runs."""

    group: str
    """Consumer group (and Faust app id) shared by every worker of the topology."""
    web_port: int | None
    """Port of the metrics endpoint (``/metrics``), or None for none."""


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
            topic = delivery_topic(rule.event_bus_name, rule.name, target.id)
            specs[topic] = internal_topic_spec(topic, partitions)
            if target.topic:
                specs.setdefault(target.topic, TopicSpec(target.topic, partitions))
            if target.dead_letter_config:
                specs.setdefault(target.dead_letter_config.topic, internal_topic_spec(target.dead_letter_config.topic, 1))
    return list(specs.values())


def prepare(topology: Topology, settings: Settings, options: WorkerOptions) -> None:
    """Create missing topics and give a new consumer group its starting point on the buses.

    A new group starts at the end of each bus and replay topic (a rule sees events put
    after it first ran, as in EventBridge; an archive too) and at the beginning of each
    delivery topic. The topology's archives are created, or updated where they changed.

    Raises:
        ArchiveKeyError: an encrypted archive's key is not in the environment.
        ResourceAlreadyExistsException: an archive of that name reads another bus.
    """
    with Admin(settings.bootstrap_servers, timeout_seconds=settings.kafka_timeout_seconds) as admin:
        for spec in topic_specs(topology):
            admin.ensure_topic(spec)
    if topology.archives:
        with ArchiveStore(settings) as store:
            for archive in topology.archives:
                store.ensure_archive(archive)
    buses = [bus_topic(name) for name in topology.bus_names()]
    buses += [replay_topic(name) for name in topology.bus_names() if topology.rules_on(name)]
    commit_end_offsets_if_new(settings.bootstrap_servers, options.group, buses)


def build(topology: Topology, settings: Settings, options: WorkerOptions) -> faust.App:
    """The Faust app for a topology; ``prepare`` must have run first."""
    datadir = settings.state_dir / "workers" / options.group
    datadir.mkdir(parents=True, exist_ok=True)
    app = make_app(options.group, settings.bootstrap_servers, datadir=datadir, web_port=options.web_port)
    metrics = Metrics()
    sink = FaustSink(app)
    buckets = {d.name: TokenBucket(d.invocation_rate_limit_per_second) for d in topology.api_destinations}
    with ArchiveStore(settings) as store:
        archives = list(store.archives().values())
    archivers = {name: Archiver(name, FaustArchiveSink(app), archives) for name in topology.bus_names()}
    _follow_archives(app, settings, archivers)
    for name in topology.bus_names():
        rules = topology.rules_on(name)
        _add_router(app, Router(name, rules, sink, metrics, tap=archivers[name]))
        if rules:
            _add_router(app, Router(name, rules, sink, metrics, replay=True))
        for rule in rules:
            for target in rule.targets:
                sender = _sender(topology, rule, target, sink, buckets)
                worker = DeliveryWorker(name, rule, target, sender, sink, metrics, region=settings.region,
                                        account=settings.account, backoff=Backoff(base_seconds=settings.retry_base_seconds))
                _add_delivery(app, worker)
    _add_metrics_page(app, metrics)
    return app


def _sender(topology: Topology, rule: Rule, target: Target, sink: RecordSink, buckets: dict[str, TokenBucket]) -> TargetSender:
    if target.topic is not None:
        return TopicTarget(sink, target.topic, target.partition_key_path)
    if target.event_bus is not None:
        return BusTarget(sink, rule.event_bus_name, target.event_bus)
    if target.api_destination is not None:
        destination = topology.api_destination(target.api_destination)
        return HttpTarget(destination, topology.connection(destination.connection_name), target.http_parameters, buckets[destination.name])
    assert target.function is not None
    return FunctionTarget(target.function)


def _add_router(app: faust.App, router: Router) -> None:
    source = replay_topic(router.bus) if router.replay else bus_topic(router.bus)
    topic = app.topic(source, key_serializer="raw", value_serializer="raw")

    async def route(stream: Any) -> AsyncIterator[None]:
        async for events in stream.take_events(ROUTER_BATCH, within=ROUTER_WINDOW):
            await router.route([to_record(event) for event in events])
            yield None

    app.agent(topic, name=f"{'replay' if router.replay else 'router'}.{router.bus}")(route)


def _follow_archives(app: faust.App, settings: Settings, archivers: dict[str, Archiver]) -> None:
    follower = ArchiveFollower(settings.bootstrap_servers, archivers)

    async def start_following() -> None:
        follower.start()

    app.task(start_following)


def _add_delivery(app: faust.App, worker: DeliveryWorker) -> None:
    name = delivery_topic(worker.bus, worker.rule.name, worker.target.id)
    topic = app.topic(name, key_serializer="raw", value_serializer="raw")

    async def deliver(stream: Any) -> AsyncIterator[None]:
        async for event in stream.events():
            await worker.handle(to_record(event))
            yield None

    app.agent(topic, name=f"deliver.{worker.bus}.{worker.rule.name}.{worker.target.id}")(deliver)


def _add_metrics_page(app: faust.App, metrics: Metrics) -> None:
    async def page(web_view: Any, request: Any) -> Any:
        return web.Response(body=metrics.exposition(), content_type="text/plain", charset="utf-8")

    app.page("/metrics")(page)
