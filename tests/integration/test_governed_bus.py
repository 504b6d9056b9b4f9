"""Schema-governed buses end to end: PutEvents against an in-process registry and the real
broker, a worker routing Avro events to a topic target, ``eventpipes tail``, and an
undecodable record set aside."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer as ConfluentDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

from eventpipes.kafka.headers import CONTENT_TYPE_AVRO, ENVELOPE_HEADER
from eventpipes.bus.governed import publish_governance
from eventpipes.bus.put_events import EventBusClient
from eventpipes.cli.main import cli
from eventpipes.kafka.topics import bus_topic, invalid_events_topic
from eventpipes.records import Record
from eventpipes.schemas import wire
from eventpipes.schemas.client import RegistryClient
from eventpipes.schemas.governance import SchemaGovernance
from eventpipes.schemas.registry.server import BackgroundRegistry
from eventpipes.settings import Settings, get_settings
from eventpipes.testing import KafkaCluster, WorkerProcess, free_port, unique_name, wait_until

ORDER = json.dumps({
    "type": "record", "name": "OrderPlaced", "namespace": "com.example.orders",
    "fields": [
        {"name": "orderId", "type": "string"},
        {"name": "total", "type": "double"},
        {"name": "coupon", "type": ["null", "string"], "default": None},
    ],
})


@pytest.fixture(scope="module")
def registry_url(kafka: KafkaCluster) -> Iterator[str]:
    with BackgroundRegistry(kafka.client, unique_name("schemas")) as url:
        yield url


@pytest.fixture
def governed(kafka: KafkaCluster, registry_url: str) -> dict[str, Any]:
    """A governed bus whose ``OrderPlaced`` schema is registered, and settings naming the registry."""
    bus, source = kafka.create_bus(), unique_name("com.example")
    settings = kafka.settings.model_copy(update={"schema_registry_url": registry_url})
    with RegistryClient(registry_url) as client:
        schema_id = client.register(f"{source}@OrderPlaced", ORDER)
    publish_governance(settings, {bus: SchemaGovernance()})
    return {"bus": bus, "source": source, "settings": settings, "schema_id": schema_id}


def entry(source: str, detail: dict[str, Any], detail_type: str = "Order Placed") -> dict[str, Any]:
    return {"Source": source, "DetailType": detail_type, "Detail": json.dumps(detail)}


def put(settings: Settings, bus: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
    with EventBusClient(settings) as client:
        return client.put_events(entries, bus=bus).to_dict()


def headers(record: Record) -> dict[str, bytes]:
    return dict(record.headers)


def test_valid_entries_go_through_as_avro_and_invalid_ones_fail_naming_the_field(
    kafka: KafkaCluster, registry_url: str, governed: dict[str, Any]
) -> None:
    source = governed["source"]
    result = put(governed["settings"], governed["bus"], [
        entry(source, {"orderId": "o-1", "total": 25.5}),
        entry(source, {"orderId": "o-2", "total": "a lot"}),
        entry(source, {"total": 3}),
    ])

    assert result["FailedEntryCount"] == 2
    ok, wrong_type, missing = result["Entries"]
    assert "EventId" in ok
    assert wrong_type["ErrorCode"] == "InvalidArgument"
    assert "detail.total: expected double" in wrong_type["ErrorMessage"]
    assert f"{source}@OrderPlaced" in wrong_type["ErrorMessage"]
    assert missing["ErrorCode"] == "InvalidArgument"
    assert "detail.orderId: required field is missing" in missing["ErrorMessage"]

    [record] = kafka.read(bus_topic(governed["bus"]), 1)
    value = record.value or b""
    assert value[0] == wire.MAGIC_BYTE and wire.read_header(value) == governed["schema_id"]
    assert headers(record)["content-type"] == CONTENT_TYPE_AVRO
    envelope = json.loads(headers(record)[ENVELOPE_HEADER])
    assert envelope["id"] == ok["EventId"] and envelope["source"] == source and "detail" not in envelope
    confluent = ConfluentDeserializer(SchemaRegistryClient({"url": registry_url}))
    detail = confluent(value, SerializationContext(record.topic, MessageField.VALUE))
    assert detail == {"orderId": "o-1", "total": 25.5, "coupon": None}
    assert len(kafka.read_all(bus_topic(governed["bus"]), timeout=3)) == 1


def test_an_event_type_without_a_schema_is_rejected_or_allowed_as_json(kafka: KafkaCluster, governed: dict[str, Any]) -> None:
    source = governed["source"]
    result = put(governed["settings"], governed["bus"], [entry(source, {"x": 1}, "Order Shipped")])
    [failed] = result["Entries"]
    assert failed["ErrorCode"] == "InvalidArgument" and f"{source}@OrderShipped" in failed["ErrorMessage"]

    lenient = kafka.create_bus()
    publish_governance(governed["settings"], {lenient: SchemaGovernance(OnMissingSubject="ALLOW_JSON")})
    result = put(governed["settings"], lenient, [entry(source, {"x": 1}, "Order Shipped"), entry(source, {"total": 1})])
    assert "EventId" in result["Entries"][0] and result["Entries"][1]["ErrorCode"] == "InvalidArgument"
    [record] = kafka.read(bus_topic(lenient), 1)
    assert json.loads(record.value or b"")["detail"] == {"x": 1}


def test_a_pinned_version_governs_even_after_a_new_one(kafka: KafkaCluster, registry_url: str, governed: dict[str, Any]) -> None:
    source, subject = governed["source"], f"{governed['source']}@OrderPlaced"
    newer = json.loads(ORDER)
    newer["fields"].append({"name": "channel", "type": ["null", "string"], "default": None})
    with RegistryClient(registry_url) as client:
        client.register(subject, json.dumps(newer))
    pinned = kafka.create_bus()
    publish_governance(governed["settings"], {pinned: SchemaGovernance.model_validate(
        {"Subjects": [{"Source": source, "DetailType": "Order Placed", "Version": 1}]})})
    result = put(governed["settings"], pinned, [entry(source, {"orderId": "o", "total": 1, "channel": "web"})])
    assert "detail.channel: not in the schema" in result["Entries"][0]["ErrorMessage"]
    assert "version 1" in result["Entries"][0]["ErrorMessage"]
    latest = put(governed["settings"], governed["bus"], [entry(source, {"orderId": "o", "total": 1, "channel": "web"})])
    assert latest["FailedEntryCount"] == 0


def test_tail_prints_json_envelopes_of_a_governed_bus(
    kafka: KafkaCluster, governed: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = put(governed["settings"], governed["bus"], [entry(governed["source"], {"orderId": "o-7", "total": 7})])
    monkeypatch.setenv("SCHEMA_REGISTRY_URL", governed["settings"].schema_registry_url)
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrap)
    get_settings.cache_clear()
    try:
        out = CliRunner().invoke(cli, ["tail", "--bus", governed["bus"], "--from-beginning", "--max-events", "1", "--timeout", "20"],
                                 catch_exceptions=False)
    finally:
        get_settings.cache_clear()
    assert out.exit_code == 0, out.output
    event = json.loads(out.stdout.strip().splitlines()[-1])
    assert event["id"] == result["Entries"][0]["EventId"]
    assert event["detail"] == {"orderId": "o-7", "total": 7.0, "coupon": None}
    assert event["detail-type"] == "Order Placed"


TOPOLOGY = """
EventBuses:
  - Name: {bus}
    Partitions: 1
    SchemaGovernance: {{SubjectNameStrategy: SourceDetailType}}
Rules:
  - Name: big-orders
    EventBusName: {bus}
    EventPattern: {{source: [{source}], detail: {{total: [{{numeric: [">", 100]}}]}}}}
    Targets: [{{Id: out, Topic: {topic}}}]
"""


def test_a_worker_routes_governed_events_as_json_and_sets_undecodable_ones_aside(
    kafka: KafkaCluster, registry_url: str, tmp_path: Path
) -> None:
    bus, source, topic = unique_name("bus"), unique_name("com.example"), unique_name("target")
    with RegistryClient(registry_url) as client:
        client.register(f"{source}@OrderPlaced", ORDER)
    topology = tmp_path / "governed.yaml"
    topology.write_text(TOPOLOGY.format(bus=bus, source=source, topic=topic))
    env = {"KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap, "SCHEMA_REGISTRY_URL": registry_url}
    settings = kafka.settings.model_copy(update={"schema_registry_url": registry_url})
    with WorkerProcess(str(topology), group=unique_name("group"), web_port=free_port(), env=env) as worker:
        worker.wait_ready()
        result = put(settings, bus, [entry(source, {"orderId": "small", "total": 5}), entry(source, {"orderId": "big", "total": 250})])
        assert result["FailedEntryCount"] == 0
        assert (kafka.read(bus_topic(bus), 1)[0].value or b"")[0] == wire.MAGIC_BYTE  # stored as Avro: the bus is governed

        [delivered] = kafka.read(topic, 1, timeout=60)
        event = json.loads(delivered.value or b"")
        assert event["id"] == result["Entries"][1]["EventId"]
        assert event["detail"] == {"orderId": "big", "total": 250.0, "coupon": None}

        avro = [("content-type", CONTENT_TYPE_AVRO), (ENVELOPE_HEADER, b'{"id": "x"}')]
        producer = kafka.producer()
        producer.send(bus_topic(bus), value=wire.frame(2**31 - 7, b"\x02"), headers=avro).get(timeout=30)  # unknown schema id
        producer.send(bus_topic(bus), value=b"\x07garbage", headers=avro).get(timeout=30)  # bad magic byte

        def two_set_aside() -> list[Record]:
            found = kafka.read_all(invalid_events_topic(bus), timeout=3)
            return found if len(found) >= 2 else []

        set_aside = wait_until(two_set_aside, timeout=60, what="2 records set aside")
        errors = [headers(r)["eventpipes-error"].decode() for r in set_aside]
        assert f"schema id {2**31 - 7} is not registered" in errors[0] and f"{bus_topic(bus)}[0]@2" in errors[0]
        assert "magic byte" in errors[1] and f"{bus_topic(bus)}[0]@3" in errors[1]
        assert [r.value for r in set_aside][1] == b"\x07garbage"
        assert worker.process.poll() is None
