"""``Router.plan_all``: the Faust route's batch path plans exactly what ``plan`` does, record by record."""

from __future__ import annotations

import json

from eventpipes.bus.metrics import Metrics
from eventpipes.bus.router import Router
from eventpipes.kafka.headers import ROUTED_CARRIED_HEADERS
from eventpipes.kafka.topics import bus_topic
from eventpipes.records import OutRecord, Record
from eventpipes.topology import load_text

TOPOLOGY = """
Rules:
  - Name: orders
    EventPattern: {source: [shop]}
    Targets: [{Id: a, Topic: out.a}, {Id: b, Topic: out.b}]
  - Name: big
    EventPattern: {detail: {amount: [{numeric: [">", 10]}]}}
    Targets: [{Id: c, Topic: out.c}]
  - Name: off
    State: DISABLED
    EventPattern: {source: [shop]}
    Targets: [{Id: d, Topic: out.d}]
"""

CARRIED = next(iter(ROUTED_CARRIED_HEADERS))


class NoSink:
    async def send_all(self, records: list[OutRecord]) -> None:
        raise AssertionError("planning writes nothing")


def router(metrics: Metrics) -> Router:
    return Router("default", load_text(TOPOLOGY).rules_on("default"), NoSink(), metrics,
                  partition_count=lambda topic: 2 if topic.endswith(".b") else 4, group="g1")


def totals(metrics: Metrics) -> list[bytes]:
    return [line for line in metrics.exposition().splitlines() if line.startswith(b"eventpipes_rule_matched_total")]


def records() -> list[Record]:
    out = []
    for n in range(12):
        event = {"version": "0", "id": str(n), "detail-type": "x", "source": "shop" if n % 3 else "other", "account": "1",
                 "time": "2026-01-01T00:00:00Z", "region": "r", "resources": [], "detail": {"amount": n * 2}}
        headers = ((CARRIED, f"c{n}".encode()), ("unrelated", b"x")) if n % 2 else ()
        out.append(Record(bus_topic("default"), n % 3, 100 + n, 1_000 + n, f"k{n}".encode(), json.dumps(event).encode(), headers))
    out.append(Record(bus_topic("default"), 0, 200, 2_000, b"bad", b"{not json", ()))  # set aside, in its place
    return out


def test_plan_all_plans_what_plan_does_in_the_same_order_and_counts_the_same_matches() -> None:
    one, many = Metrics(), Metrics()
    expected = [out for record in records() for out in router(one).plan(record)]

    planned = list(router(many).plan_all(records()))

    assert planned == expected
    assert len({id(out.headers) for out in planned}) == len(planned)  # no record shares another's header list
    assert totals(one) == totals(many)
    assert b'eventpipes_rule_matched_total{bus="default",rule="big"} 6.0' in many.exposition()
