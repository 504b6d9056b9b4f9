"""A real Faust worker (examples/faust_routing.py) on the real broker: the predicate filters a stream,
and the routing agent feeds eventpipes' delivery workers, which deliver to a topic and an HTTP
target through their input transformers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eventpipes.bus.metrics import Metrics
from eventpipes.bus.put_events import EventBusClient
from eventpipes.bus.router import Router
from eventpipes.kafka.offsets import committed_offsets, end_offsets
from eventpipes.kafka.topics import bus_topic, delivery_topic
from eventpipes.records import Record
from eventpipes.testing import HttpReceiver, KafkaCluster, WorkerProcess, free_port, unique_name, wait_until
from eventpipes.topology import load_file
from test_faust_support import FaustWorker

TOPOLOGY = """
EventBuses:
  - {{Name: {bus}, Partitions: 2}}
Connections:
  - Name: key-auth
    AuthorizationType: API_KEY
    AuthParameters: {{ApiKeyAuthParameters: {{ApiKeyName: x-api-key, ApiKeyValue: s3cret}}}}
ApiDestinations:
  - {{Name: hook, ConnectionName: key-auth, InvocationEndpoint: "{http}/hook", HttpMethod: POST}}
Rules:
  - Name: placed
    EventBusName: {bus}
    EventPattern: {{detail-type: [OrderPlaced], detail: {{total: [{{numeric: [">", 100]}}]}}}}
    Targets:
      - Id: audit
        Topic: {topic}
        InputTransformer:
          InputPathsMap: {{order: $.detail.order, total: $.detail.total}}
          InputTemplate: '{{"order": <order>, "total": <total>, "rule": <aws.events.rule-name>}}'
      - Id: hook
        ApiDestination: hook
        InputTransformer:
          InputPathsMap: {{order: $.detail.order}}
          InputTemplate: '{{"paid": <order>}}'
  - Name: cancelled
    EventBusName: {bus}
    EventPattern: {{detail-type: [OrderCancelled]}}
    Targets: [{{Id: copy, Topic: {topic}.cancelled}}]
"""

FILTER = '{"source": ["shop"], "detail": {"total": [{"numeric": [">=", 50]}]}}'


@pytest.fixture(scope="module", params=["faust", "batched"])
def world(kafka: KafkaCluster, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """The example app with each of route_bus's producers, and a delivery worker of its group."""
    folder = tmp_path_factory.mktemp("faust-routing")
    receiver = HttpReceiver()
    names = {"bus": unique_name("bus"), "topic": unique_name("target"), "http": receiver.url,
             "source": unique_name("filter-in"), "sink": unique_name("filter-out")}
    topology = folder / "topology.yaml"
    topology.write_text(TOPOLOGY.format(**names))
    kafka.create_topic(names["source"])
    kafka.create_topic(names["sink"])
    group = unique_name("group")
    env = {"KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap, "EVENTPIPES_TOPOLOGY": str(topology), "EVENTPIPES_BUS": names["bus"],
           "EVENTPIPES_GROUP": group, "EVENTPIPES_FILTER_SOURCE": names["source"], "EVENTPIPES_FILTER_SINK": names["sink"],
           "EVENTPIPES_FILTER_PATTERN": FILTER, "EVENTPIPES_PRODUCER": request.param}
    with FaustWorker(folder, env) as faust:
        faust.wait_ready()
        with WorkerProcess(str(topology), group=group, web_port=free_port(), roles=("delivery",),
                           env={"KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap}) as delivery:
            delivery.wait_ready()
            yield {**names, "receiver": receiver, "topology": topology, "group": group, "faust": faust}
    receiver.close()


def put(kafka: KafkaCluster, bus: str, entries: list[dict[str, Any]]) -> None:
    with EventBusClient(kafka.settings) as client:
        for start in range(0, len(entries), 10):
            assert client.put_events(entries[start:start + 10], bus=bus).failed_entry_count == 0


def order(kind: str, n: int, total: int) -> dict[str, Any]:
    return {"Source": "shop", "DetailType": kind, "Detail": json.dumps({"order": n, "total": total})}


def test_a_faust_agent_filters_a_stream_with_an_event_pattern(kafka: KafkaCluster, world: dict[str, Any]) -> None:
    values: list[Any] = [{"source": "shop", "detail": {"total": n * 10, "n": n}} for n in range(12)]
    values += [{"source": "other", "detail": {"total": 500, "n": 100}}, {"source": "shop", "detail": {"total": "lots", "n": 101}}]
    values += [{"source": "shop", "detail": {"total": 999, "n": 102}}]  # the last one matches: once it is out, all were filtered
    kafka.seed_topic(world["source"], values)
    wait_until(lambda: any(json.loads(r.value or b"")["detail"]["n"] == 102 for r in kafka.read_all(world["sink"], timeout=5)),
               what="the last matching event filtered through")
    passed = [json.loads(r.value or b"")["detail"]["n"] for r in kafka.read_all(world["sink"])]
    assert passed == [5, 6, 7, 8, 9, 10, 11, 102]


def test_the_routing_agent_feeds_eventpipes_delivery_workers(kafka: KafkaCluster, world: dict[str, Any]) -> None:
    bus, topic, receiver = world["bus"], world["topic"], world["receiver"]
    entries = [order("OrderPlaced", n, 50 + 20 * n) for n in range(20)]  # totals 50..430: 17 over 100
    entries += [order("OrderCancelled", n, 0) for n in range(100, 105)] + [order("OrderShipped", 200, 999)]
    put(kafka, bus, entries)

    wait_until(lambda: len(kafka.read_all(topic, timeout=5)) >= 17, what="17 placed orders at the topic target")
    wait_until(lambda: len(receiver.received("/hook")) >= 17, what="17 requests at the HTTP target")
    wait_until(lambda: len(kafka.read_all(f"{topic}.cancelled", timeout=5)) >= 5, what="5 cancellations")
    over = list(range(3, 20))
    audited = sorted((json.loads(r.value or b"") for r in kafka.read_all(topic)), key=lambda v: v["order"])
    assert audited == [{"order": n, "total": 50 + 20 * n, "rule": "placed"} for n in over]
    assert sorted(json.loads(r.body)["paid"] for r in receiver.received("/hook")) == over
    assert {r.headers["x-api-key"] for r in receiver.received("/hook")} == {"s3cret"}
    cancelled = [json.loads(r.value or b"")["detail"]["order"] for r in kafka.read_all(f"{topic}.cancelled")]
    assert sorted(cancelled) == list(range(100, 105))

    # Faust's records are the records eventpipes' routing worker would have written, to the byte.
    rules = load_file(world["topology"]).rules_on(bus)
    router = Router(bus, rules, None, Metrics(), partition_count=lambda t: 2, group=world["group"])  # type: ignore[arg-type]
    expected: dict[str, list[tuple[Any, ...]]] = {}
    for record in kafka.read_all(bus_topic(bus)):
        for out in router.plan(record):
            expected.setdefault(out.topic, []).append((out.partition, out.key, out.value, tuple(out.headers)))
    written = {t: [(r.partition, r.key, r.value, r.headers) for r in kafka.read_all(t)] for t in expected}
    assert sorted(expected) == sorted({delivery_topic(bus, "placed", "audit"), delivery_topic(bus, "placed", "hook"),
                                       delivery_topic(bus, "cancelled", "copy")})
    for name in expected:  # each delivery partition in its bus partition's order
        assert _by_partition(written[name]) == _by_partition(expected[name]), name

    # The Faust group commits past what it routed.
    ends = end_offsets(kafka.client, bus_topic(bus))
    wait_until(lambda: committed_offsets(kafka.client, world["faust"].app_id, bus_topic(bus)) == ends,
               what="the Faust group committed the whole bus")


def _by_partition(items: list[tuple[Any, ...]]) -> dict[int, list[tuple[Any, ...]]]:
    out: dict[int, list[tuple[Any, ...]]] = {}
    for item in items:
        out.setdefault(item[0], []).append(item)
    return out
