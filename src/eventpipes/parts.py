"""A worker's parts for a topology (routers, delivery workers, their targets), updated in place when it changes.

``eventpipes run`` builds the parts once; when the topology changes while the worker runs
(a watched file edited, the control plane's store changed) ``WorkerParts.apply`` brings
them to the new topology without a restart, keeping every part whose definition did not
change, so its in-flight work and its target's connections carry on:

* a bus's router gets the bus's new rules. A rule created, enabled or given a new pattern
  matches events put after the change only (EventBridge: "a new rule matches events put
  after it"), not older ones still waiting to be routed; a disabled or deleted rule stops
  matching at once.
* a new target gets a delivery worker (and its topics, whose starting point the caller
  commits before the router can write to them); a changed target gets a new one from then
  on; a removed target's worker goes, and what its delivery and retry topics still hold is
  abandoned (documented: docs/topologies.md, "Changing a running topology").
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from eventpipes.bus.delivery import DeliveryWorker, target_spec
from eventpipes.bus.metrics import Metrics
from eventpipes.bus.router import Direct, Router
from eventpipes.kafka.sink import WorkerSink
from eventpipes.kafka.topics import bus_topic, delivery_topic, replay_topic
from eventpipes.kafka.worker import Handler
from eventpipes.retry import Backoff
from eventpipes.settings import Settings
from eventpipes.targets.adapters import EventSender
from eventpipes.targets.base import TargetContext
from eventpipes.targets.build import make_target
from eventpipes.targets.ratelimit import TokenBucket
from eventpipes.topology.model import ApiDestination, Connection, Rule, Target, Topology

DeliveryKey = tuple[str, str, str]
"""(bus, rule, target id)."""


@dataclass
class _Delivery:
    rule: Rule
    target: Target
    worker: DeliveryWorker
    sender: EventSender


@dataclass
class WorkerParts:
    """Routers and delivery workers of one worker, keyed so that a new topology reuses what did not change."""

    settings: Settings
    group: str
    roles: frozenset[str]
    sink: WorkerSink
    metrics: Metrics
    routers: dict[str, Router] = field(default_factory=dict)
    """By the topic they read: bus topics and replay topics."""
    deliveries: dict[DeliveryKey, _Delivery] = field(default_factory=dict)
    topology: Topology | None = None
    """The topology the parts were last brought to."""
    _buckets: dict[str, TokenBucket] = field(default_factory=dict)

    def apply(self, topology: Topology, *, now_ms: int | None = None) -> list[EventSender]:
        """Bring the parts to ``topology``; returns the senders no longer used (the caller closes them).

        Args:
            now_ms: when the change took effect; rules it creates, enables or re-patterns
                match only bus records from then on. None for the first topology (every rule
                matches whatever is routed, as at a worker's start).
        """
        previous = self.topology
        self.topology = topology
        self._refresh_buckets(topology)
        if "routing" in self.roles:
            self._apply_routers(topology, previous, now_ms)
        return self._apply_deliveries(topology) if "delivery" in self.roles else []

    def handlers(self) -> dict[str, Handler]:
        """The worker's topics and what handles each."""
        handlers: dict[str, Handler] = {topic: router.route for topic, router in self.routers.items()}
        for (bus, rule, target), delivery in self.deliveries.items():
            handlers[delivery_topic(bus, rule, target)] = delivery.worker.handle_all
            handlers[delivery.worker.retry_topic] = delivery.worker.handle_retries
        return handlers

    def senders(self) -> list[EventSender]:
        return [delivery.sender for delivery in self.deliveries.values()]

    def _apply_routers(self, topology: Topology, previous: Topology | None, now_ms: int | None) -> None:
        count = self.sink.partition_count
        wanted: set[str] = set()
        for name in topology.bus_names():
            rules = topology.rules_on(name)
            since = _since(rules, previous.rules_on(name) if previous else [], now_ms) if now_ms is not None else {}
            topics = [(bus_topic(name), False)] + ([(replay_topic(name), True)] if rules else [])
            for topic, replay in topics:
                wanted.add(topic)
                router = self.routers.get(topic)
                if router is None:
                    router = Router(name, rules, self.sink, self.metrics, replay=replay,
                                    partition_count=count, group=self.group, direct=self._direct)
                    if since:
                        router.update(rules, since_ms=since)
                    self.routers[topic] = router
                elif router.rules != rules or since:
                    router.update(rules, since_ms={**router.since_ms, **since})
        for topic in set(self.routers) - wanted:
            del self.routers[topic]

    def _apply_deliveries(self, topology: Topology) -> list[EventSender]:
        wanted: dict[DeliveryKey, tuple[Rule, Target]] = {
            (rule.event_bus_name, rule.name, target.id): (rule, target) for rule in topology.rules for target in rule.targets
        }
        dropped = []
        for key, delivery in list(self.deliveries.items()):
            now = wanted.get(key)
            if now is None or now[1] != delivery.target or _delivery_changed(now[0], delivery.rule):
                dropped.append(delivery.sender)
                del self.deliveries[key]
        for key, (rule, target) in wanted.items():
            if key not in self.deliveries:
                self.deliveries[key] = self._delivery(topology, rule, target)
        return dropped

    def _delivery(self, topology: Topology, rule: Rule, target: Target) -> _Delivery:
        bus = rule.event_bus_name
        context = TargetContext(self.sink, self.settings.region, self.settings.account, source_bus=bus,
                                api_destination=self._destinations(topology))
        sender = EventSender(make_target(target_spec(rule, target), context))
        worker = DeliveryWorker(bus, rule, target, sender, self.sink, self.metrics, region=self.settings.region,
                                account=self.settings.account, backoff=Backoff(base_seconds=self.settings.retry_base_seconds),
                                group=self.group)
        return _Delivery(rule, target, worker, sender)

    def _direct(self, rule: Rule, target: Target) -> Direct | None:
        """How a router delivers ``target`` itself: a delivery worker of its own, for targets that write to Kafka.

        Built in routing workers whatever their roles (a routing-only worker delivers these
        targets too); its failed events wait on the target's retry topic, which delivery workers read.
        """
        writes_to = producer_topic(target)
        if writes_to is None:
            return None
        context = TargetContext(self.sink, self.settings.region, self.settings.account, source_bus=rule.event_bus_name)
        sender = EventSender(make_target(target_spec(rule, target), context))
        worker = DeliveryWorker(rule.event_bus_name, rule, target, sender, self.sink, self.metrics, region=self.settings.region,
                                account=self.settings.account, backoff=Backoff(base_seconds=self.settings.retry_base_seconds))
        return Direct(writes_to, worker.handle_all)

    def _refresh_buckets(self, topology: Topology) -> None:
        # One bucket per destination, kept across changes unless its rate changed.
        for destination in topology.api_destinations:
            bucket = self._buckets.get(destination.name)
            if bucket is None or bucket.rate != destination.invocation_rate_limit_per_second:
                self._buckets[destination.name] = TokenBucket(destination.invocation_rate_limit_per_second)

    def _destinations(self, topology: Topology) -> Callable[[str], tuple[ApiDestination, Connection, TokenBucket]]:
        def resolve(name: str) -> tuple[ApiDestination, Connection, TokenBucket]:
            destination = topology.api_destination(name)
            return destination, topology.connection(destination.connection_name), self._buckets[name]

        return resolve


def _since(rules: list[Rule], before: list[Rule], now_ms: int) -> dict[str, int]:
    """Rules that a change created, enabled or re-patterned: they match events from ``now_ms`` on."""
    old = {rule.name: rule for rule in before}
    changed = {}
    for rule in rules:
        was = old.get(rule.name)
        if rule.state == "ENABLED" and (was is None or was.state != "ENABLED" or was.event_pattern != rule.event_pattern):
            changed[rule.name] = now_ms
    return changed


def producer_topic(target: Target) -> str | None:
    """The Kafka topic a target writes through the worker's producer (a topic, a bus), or None (HTTP, functions, files)."""
    if (topic := target.destination_of("Topic")) is not None:
        return topic
    if (bus := target.destination_of("EventBus")) is not None:
        return bus_topic(bus)
    return None


def _delivery_changed(rule: Rule, before: Rule) -> bool:
    """Whether a delivery worker built for ``before`` no longer fits ``rule`` (the target itself compared apart)."""
    return rule.event_bus_name != before.event_bus_name


def now_ms() -> int:
    return int(time.time() * 1000)
