"""Scheduled rules in a worker: what a tick puts, as the router would put a matched event.

A tick of a scheduled rule becomes EventBridge's scheduled event (``source aws.events``,
``detail-type Scheduled Event``, ``time`` = the tick's instant), written to the delivery
topic of each of the rule's targets by the default bus's own ``Router.routed``: the same
key (the event id, as PutEvents keys bus records), headers (ingestion time, rule, group)
and partition (the bus partition the event's key would take, followed downstream as for a
routed event). The existing delivery path then applies the targets' input transformers,
retries and dead-letter topics. The ticker (``eventpipes.kafka.schedule_ticker``) writes
these records in the tick's transaction, so delivery consumers read ``read_committed``.

Ingestion time is when the tick is written, not its instant: a catch-up tick fired hours
after its instant (``docs/scheduled-rules.md``) is then not already past its targets'
``MaximumEventAgeInSeconds`` when it is first delivered; ``time`` still names the tick.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from eventpipes.arns import DEFAULT_BUS, rule_arn
from eventpipes.bus.router import Router
from eventpipes.kafka.partitioning import partition_for_key
from eventpipes.records import OutRecord
from eventpipes.schedules import ScheduledRule, Tick, scheduled_event
from eventpipes.topology.model import Topology


def scheduled_rules(topology: Topology, *, region: str, account: str) -> list[ScheduledRule]:
    """The topology's ENABLED scheduled rules, as the ticker takes them.

    A topology file knows no creation time, so each is anchored when the group's ticker
    first sees it (``anchor=None``), and that anchor is kept in the group's progress topic.
    """
    rules = []
    for rule in topology.scheduled_rules():
        schedule = rule.schedule
        assert schedule is not None  # scheduled_rules() holds rules with an expression only
        rules.append(ScheduledRule(rule.name, rule_arn(region, account, rule.event_bus_name, rule.name), schedule, None))
    return rules


class ScheduledOutputs:
    """The ticker's ``outputs``: a tick's scheduled event, one record per target of its rule.

    Args:
        router: the default bus's router (it knows the rules' targets and the group).
        bus_partitions: partitions of the default bus topic, for the partition the
            event's key would take there.
        region: written into the envelope.
        account: written into the envelope.
        clock: milliseconds since the epoch, for the ingestion time.
    """

    def __init__(self, router: Router, *, bus_partitions: int, region: str, account: str,
                 clock: Callable[[], float] = time.time) -> None:
        if router.bus != DEFAULT_BUS or router.replay:
            raise ValueError("scheduled rules are routed by the default bus's own router")
        self._router = router
        self._bus_partitions = bus_partitions
        self._region, self._account = region, account
        self._clock = clock

    def __call__(self, tick: Tick) -> list[OutRecord]:
        event = scheduled_event(tick.rule.arn, tick.instant, account=self._account, region=self._region)
        key = event.id.encode()
        return self._router.routed(tick.rule.name, key, event.to_json(), ingestion_time_ms=int(self._clock() * 1000),
                                   source_partition=partition_for_key(key, self._bus_partitions))
