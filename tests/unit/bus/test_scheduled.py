"""A scheduled rule's tick becomes the records the default bus's router writes for a matched event."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from eventpipes.bus.metrics import Metrics
from eventpipes.bus.router import Router
from eventpipes.bus.scheduled import ScheduledOutputs, scheduled_rules
from eventpipes.kafka.headers import GROUP_HEADER, INGESTION_HEADER, RULE_HEADER
from eventpipes.kafka.partitioning import partition_for_key
from eventpipes.kafka.topics import bus_topic, delivery_topic
from eventpipes.records import OutRecord, Record
from eventpipes.schedules import Tick
from eventpipes.topology import load_text

TOPOLOGY = """
Rules:
  - Name: tick
    ScheduleExpression: rate(1 minute)
    Targets: [{Id: a, Topic: out.a}, {Id: b, Topic: out.b}]
  - Name: both
    ScheduleExpression: cron(0 2 * * ? *)
    EventPattern: {source: [app]}
    Targets: [{Id: c, Topic: out.c}]
  - Name: off
    State: DISABLED
    ScheduleExpression: rate(1 minute)
    Targets: [{Id: d, Topic: out.d}]
"""


class NoSink:
    async def send_all(self, records: list[OutRecord]) -> None:
        raise AssertionError("a tick's records go through the ticker's transaction, not the sink")


def router() -> Router:
    topology = load_text(TOPOLOGY)
    return Router("default", topology.rules_on("default"), NoSink(), Metrics(), partition_count=lambda topic: 4, group="g1")


def bus_record(event: dict[str, object], partition: int = 1) -> Record:
    return Record(bus_topic("default"), partition, 7, 1_000, b"k", json.dumps(event).encode(), ())


def test_only_enabled_rules_with_an_expression_are_scheduled_and_anchored_by_the_ticker() -> None:
    rules = scheduled_rules(load_text(TOPOLOGY), region="eu-west-1", account="123456789012")
    assert [(r.name, r.arn, r.anchor) for r in rules] == [
        ("tick", "arn:aws:events:eu-west-1:123456789012:rule/tick", None),
        ("both", "arn:aws:events:eu-west-1:123456789012:rule/both", None),
    ]


def test_a_schedule_only_rule_matches_no_event_and_a_rule_with_both_matches_its_pattern() -> None:
    event = {"version": "0", "id": "1", "detail-type": "x", "source": "app", "account": "1", "time": "2026-01-01T00:00:00Z",
             "region": "r", "resources": [], "detail": {}}
    planned = router().plan(bus_record(event))
    assert [r.topic for r in planned] == [delivery_topic("default", "both", "c")]


def test_a_tick_is_written_as_the_router_writes_a_matched_event() -> None:
    the_router = router()
    rule = scheduled_rules(load_text(TOPOLOGY), region="eu-west-1", account="123456789012")[0]
    instant = datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc)
    outputs = ScheduledOutputs(the_router, bus_partitions=3, region="eu-west-1", account="123456789012", clock=lambda: 1_772_359_200.5)
    records = outputs(Tick(rule, instant, catch_up=False))

    assert [r.topic for r in records] == [delivery_topic("default", "tick", "a"), delivery_topic("default", "tick", "b")]
    event = json.loads(records[0].value)
    assert event["source"] == "aws.events" and event["detail-type"] == "Scheduled Event"
    assert event["resources"] == [rule.arn] and event["detail"] == {}
    assert event["time"] == "2026-03-01T10:00:00Z"
    assert event["account"] == "123456789012" and event["region"] == "eu-west-1"
    assert records[0].key == event["id"].encode() and records[1].value == records[0].value
    assert records[0].headers == [(INGESTION_HEADER, b"1772359200500"), (GROUP_HEADER, b"g1"), (RULE_HEADER, b"tick")]
    # The partition the event's key would take on the bus, followed into the delivery topic (4 partitions).
    assert records[0].partition == partition_for_key(records[0].key, 3) % 4
    # And a routed bus event on that bus partition goes to the same delivery partition, with the same headers.
    routed = the_router.routed("tick", b"k", b"{}", ingestion_time_ms=1_772_359_200_500, source_partition=partition_for_key(records[0].key, 3))
    assert [(r.topic, r.headers, r.partition) for r in routed] == [(r.topic, r.headers, r.partition) for r in records]


def test_each_tick_is_a_new_event() -> None:
    rule = scheduled_rules(load_text(TOPOLOGY), region="r", account="1")[0]
    outputs = ScheduledOutputs(router(), bus_partitions=3, region="r", account="1")
    tick = Tick(rule, datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc), catch_up=False)
    assert json.loads(outputs(tick)[0].value)["id"] != json.loads(outputs(tick)[0].value)["id"]
