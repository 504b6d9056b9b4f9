"""Avro records across eventpipes and Confluent: each side's serializer, the other's deserializer,
through the registry and a real topic."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer as ConfluentDeserializer
from confluent_kafka.schema_registry.avro import AvroSerializer as ConfluentSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from eventpipes.schemas.client import RegistryClient
from eventpipes.schemas.compat import CompatibilityLevel
from eventpipes.schemas.errors import UndecodableRecord, UnknownSchemaId
from eventpipes.schemas.producer import AvroProducer
from eventpipes.schemas.registry.errors import IncompatibleSchema
from eventpipes.schemas.registry.server import BackgroundRegistry
from eventpipes.schemas.serde import AvroDeserializer, AvroSerializer
from eventpipes.testing import KafkaCluster, unique_name

ORDER = json.dumps({
    "type": "record",
    "name": "OrderPlaced",
    "namespace": "com.example.orders",
    "fields": [
        {"name": "orderId", "type": "string"},
        {"name": "total", "type": "double"},
        {"name": "items", "type": {"type": "array", "items": "string"}},
        {"name": "coupon", "type": ["null", "string"], "default": None},
    ],
})
VALUE = {"orderId": "o-1", "total": 25.5, "items": ["a", "b"], "coupon": None}


@pytest.fixture(scope="module")
def registry_url(kafka: KafkaCluster) -> Iterator[str]:
    with BackgroundRegistry(kafka.client, unique_name("schemas")) as url:
        yield url


@pytest.fixture
def client(registry_url: str) -> Iterator[RegistryClient]:
    with RegistryClient(registry_url) as client:
        yield client


def test_confluent_writes_eventpipes_reads(registry_url: str, client: RegistryClient) -> None:
    topic = unique_name("orders")
    confluent = ConfluentSerializer(SchemaRegistryClient({"url": registry_url}), ORDER)
    data = confluent(VALUE, SerializationContext(topic, MessageField.VALUE))
    assert data is not None
    assert AvroDeserializer(client).deserialize(data, topic=topic, partition=0, offset=0) == VALUE
    assert client.versions(f"{topic}-value") == [1]


def test_eventpipes_writes_confluent_reads_through_kafka(kafka: KafkaCluster, registry_url: str, client: RegistryClient) -> None:
    topic = kafka.create_topic(unique_name("orders"))
    with AvroProducer(ORDER, registry=client, kafka=kafka.client) as producer:
        futures = [producer.produce(topic, {**VALUE, "orderId": f"o-{i}"}) for i in range(3)]
        producer.flush()
        for future in futures:
            future.get(timeout=30)
    records = kafka.read(topic, 3)
    confluent = ConfluentDeserializer(SchemaRegistryClient({"url": registry_url}))
    decoded = [confluent(r.value, SerializationContext(topic, MessageField.VALUE)) for r in records]
    assert [d["orderId"] for d in decoded] == ["o-0", "o-1", "o-2"]  # type: ignore[index]
    ours = AvroDeserializer(client)
    assert [ours.deserialize_record(r) for r in records] == decoded


def test_producer_enforces_compatibility_at_registration(kafka: KafkaCluster, client: RegistryClient) -> None:
    topic = kafka.create_topic(unique_name("orders"))
    with AvroProducer(ORDER, registry=client, kafka=kafka.client, compatibility=CompatibilityLevel.FULL) as producer:
        producer.produce(topic, VALUE).get(timeout=30)
    assert client.compatibility(f"{topic}-value") == "FULL"
    breaking = json.loads(ORDER)
    breaking["fields"].append({"name": "channel", "type": "string"})  # no default: breaks FULL
    with AvroProducer(breaking, registry=client, kafka=kafka.client) as producer:
        with pytest.raises(IncompatibleSchema) as info:
            producer.produce(topic, {**VALUE, "channel": "web"})
    assert "channel" in info.value.message
    assert len(kafka.read_all(topic)) == 1  # nothing produced by the refused producer


def test_undecodable_records_from_kafka_are_typed(kafka: KafkaCluster, client: RegistryClient) -> None:
    topic = kafka.create_topic(unique_name("mixed"))
    good = AvroSerializer(client, ORDER).serialize(VALUE, topic)
    kafka.seed_topic(topic, [b'{"json": true}', good[:7], b"\x00\x7f\xff\xff\xf0\x02", good])
    records = kafka.read(topic, 4)
    deserializer = AvroDeserializer(client)
    outcomes: list[object] = []
    for record in records:
        try:
            outcomes.append(deserializer.deserialize_record(record))
        except UndecodableRecord as exc:  # what a consumer dead-letters, then goes on
            assert (exc.topic, exc.partition, exc.offset) == (topic, 0, record.offset)
            outcomes.append(exc.code)
    assert outcomes == ["BadMagicByte", "TruncatedFrame", UnknownSchemaId.code, VALUE]
