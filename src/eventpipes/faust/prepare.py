"""What must hold in Kafka before a Faust app routes a bus: topics, partition counts, starting points.

The same steps ``eventpipes run`` takes for a routing worker (``eventpipes.app.prepare``),
for one bus:

* the bus, its replay and set-aside topics and its rules' delivery, target and dead-letter
  topics exist (created as ``eventpipes run`` creates them; existing topics are left as they are);
* the delivery group (the ``eventpipes-group`` header the route writes) gets its starting point
  as a routing worker of that group gives it: its delivery topics from their end (what they hold
  was routed by another group) and the bus from its end. A delivery worker of the group
  (``eventpipes run FILE --role delivery --group GROUP``) waits for that before delivering;
* the Faust app's own consumer group, when new, starts at the end of the bus, as eventpipes'
  router does (a rule sees the events put after it first ran, as in EventBridge), instead of
  at Faust's ``consumer_auto_offset_reset`` (earliest: the bus's whole retention routed again).

Synchronous (kafka-python), so it runs before the Faust worker starts (``app.on_worker_init``)
or in an executor.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from kafka.errors import KafkaError

from eventpipes.app import has_offsets, topic_specs
from eventpipes.kafka.admin import Admin
from eventpipes.kafka.client_config import KafkaClientConfig
from eventpipes.kafka.offsets import commit_end_offsets_if_new
from eventpipes.kafka.topics import bus_topic, delivery_topic, replay_topic, retry_topic
from eventpipes.topology.model import Topology

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RoutePlan:
    """The Kafka side of one routed bus."""

    bus: str
    """The bus routed."""
    topology: Topology
    """The bus, its rules and what their targets refer to (nothing of other buses)."""
    group: str
    """The eventpipes group whose delivery workers deliver what the route writes."""
    faust_group: str
    """The Faust app's consumer group (its ``id``)."""

    @property
    def sources(self) -> list[str]:
        """The topics the route reads: the bus and its replay topic."""
        return [bus_topic(self.bus), replay_topic(self.bus)]

    @property
    def deliveries(self) -> list[str]:
        """The delivery topics the route writes, one per target of each rule."""
        return [delivery_topic(self.bus, rule.name, target.id) for rule in self.topology.rules for target in rule.targets]


def prepare(plan: RoutePlan, kafka: KafkaClientConfig, *, timeout_seconds: float = 10.0) -> dict[str, int]:
    """Create the route's topics and fix the starting points; returns each delivery topic's partition count.

    Raises:
        BrokerUnavailable: the cluster did not answer.
        TopicError: the cluster refused to create a topic.
    """
    with Admin(kafka, timeout_seconds=timeout_seconds) as admin:
        for spec in topic_specs(plan.topology):
            admin.ensure_topic(spec)
        counts = {topic: len(admin.partitions_of(topic)) for topic in plan.deliveries}
    if not has_offsets(kafka, plan.group, plan.sources):  # this group's routing starts now, for the first time
        # The targets' retry topics too, as the worker's own prepare() gives them.
        retries = [retry_topic(plan.bus, rule.name, target.id) for rule in plan.topology.rules for target in rule.targets]
        commit_end_offsets_if_new(kafka, plan.group, plan.deliveries + retries)
    commit_end_offsets_if_new(kafka, plan.group, plan.sources)
    try:
        commit_end_offsets_if_new(kafka, plan.faust_group, plan.sources)
    except KafkaError as exc:  # another member of the app is running: the group is not new, its offsets stand
        log.warning("could not give Faust group %s its starting point on %s (%r); it keeps its own",
                    plan.faust_group, plan.bus, exc)
    return counts
