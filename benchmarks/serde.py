"""Benchmark: the registry-aware Avro serde against raw fastavro, and the registry's throughput.

Serde: 100,000 realistic order event details (seeded), serialized and deserialized through
``AvroSerializer`` / ``AvroDeserializer`` (Confluent framing, schema id from the registry,
writer schemas cached by id) and through fastavro's ``schemaless_writer`` /
``schemaless_reader`` on the same records, in the same run. Each way runs ``--repeat`` times,
alternating, and the best time counts (least disturbed by the shared machine). Target: the
serde's overhead at most 15% over raw fastavro.

Registry: registrations (distinct schemas, each a new id, written through the Kafka log) and
lookups (``POST /subjects/{s}``, ``GET /schemas/ids/{id}`` without client cache) per second,
one request at a time. Registry and client run in this one process (the registry on its own
thread and event loop), so both share one core through the GIL.

Needs the local broker (``eventpipes broker start``) or ``KAFKA_BOOTSTRAP_SERVERS``.
Run: ``.venv/bin/python benchmarks/serde.py`` (``--quick`` for a small run).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import random
import time
import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

import fastavro
import httpx

from eventpipes.kafka.admin import Admin
from eventpipes.kafka.client_config import client_config
from eventpipes.schemas.client import RegistryClient
from eventpipes.schemas.registry.server import BackgroundRegistry
from eventpipes.schemas.serde import AvroDeserializer, AvroSerializer, parse_schema
from eventpipes.settings import Settings

SEED = 20260101
TARGET_OVERHEAD = 0.15

SCHEMA = {
    "type": "record",
    "name": "OrderPlaced",
    "namespace": "com.example.orders",
    "fields": [
        {"name": "orderId", "type": "string"},
        {"name": "status", "type": {"type": "enum", "name": "Status", "symbols": ["PLACED", "PAID", "SHIPPED"]}},
        {"name": "placedAt", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "currency", "type": "string"},
        {"name": "total", "type": "double"},
        {"name": "coupon", "type": ["null", "string"], "default": None},
        {"name": "customer", "type": {"type": "record", "name": "Customer", "fields": [
            {"name": "id", "type": "string"},
            {"name": "email", "type": "string"},
            {"name": "tier", "type": "string"},
            {"name": "country", "type": "string"},
        ]}},
        {"name": "items", "type": {"type": "array", "items": {"type": "record", "name": "Item", "fields": [
            {"name": "sku", "type": "string"},
            {"name": "quantity", "type": "int"},
            {"name": "price", "type": "double"},
        ]}}},
        {"name": "tags", "type": {"type": "array", "items": "string"}},
    ],
}


def details(count: int) -> list[dict[str, Any]]:
    rng = random.Random(SEED)
    out = []
    for i in range(count):
        items = [
            {"sku": f"SKU-{rng.randrange(100_000):05d}", "quantity": rng.randint(1, 5), "price": round(rng.uniform(1, 300), 2)}
            for _ in range(rng.randint(1, 4))
        ]
        out.append({
            "orderId": f"o-{i:08d}",
            "status": rng.choice(["PLACED", "PAID", "SHIPPED"]),
            "placedAt": 1_767_225_600_000 + i * 1000,
            "currency": rng.choice(["USD", "EUR", "GBP"]),
            "total": round(sum(it["price"] * it["quantity"] for it in items), 2),
            "coupon": rng.choice([None, None, "SPRING10"]),
            "customer": {
                "id": f"c-{rng.randrange(1_000_000)}",
                "email": f"user{rng.randrange(1_000_000)}@example.com",
                "tier": rng.choice(["free", "pro", "enterprise"]),
                "country": rng.choice(["US", "DE", "FR", "IN", "JP"]),
            },
            "items": items,
            "tags": rng.sample(["gift", "express", "b2b", "mobile", "first-order"], rng.randint(0, 2)),
        })
    return out


def best(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_serde(url: str, count: int, repeat: int) -> None:
    records = details(count)
    parsed = parse_schema(json.dumps(SCHEMA))
    client = RegistryClient(url)
    serializer = AvroSerializer(client, SCHEMA)
    deserializer = AvroDeserializer(client)
    topic = f"bench-{uuid.uuid4().hex[:8]}"

    def raw_write() -> list[bytes]:
        out = []
        for record in records:
            buffer = io.BytesIO()
            fastavro.schemaless_writer(buffer, parsed, record)
            out.append(buffer.getvalue())
        return out

    def serde_write() -> list[bytes]:
        return [serializer.serialize(record, topic) for record in records]

    raw_bodies, framed = raw_write(), serde_write()  # also warms the id caches
    assert [b[5:] for b in framed] == raw_bodies

    def raw_read() -> None:
        for body in raw_bodies:
            fastavro.schemaless_reader(io.BytesIO(body), parsed, None)

    def serde_read() -> None:
        for data in framed:
            deserializer.deserialize(data, topic=topic, partition=0, offset=0)

    assert deserializer.deserialize(framed[0]) == fastavro.schemaless_reader(io.BytesIO(raw_bodies[0]), parsed, None)
    timings: dict[str, list[float]] = {name: [] for name in ("raw_write", "serde_write", "raw_read", "serde_read")}
    for _ in range(repeat):  # alternate, so drift on a shared machine hits both ways alike
        timings["raw_write"].append(best(raw_write, 1))
        timings["serde_write"].append(best(serde_write, 1))
        timings["raw_read"].append(best(raw_read, 1))
        timings["serde_read"].append(best(serde_read, 1))
    t = {name: min(values) for name, values in timings.items()}
    size = sum(map(len, framed)) / len(framed)
    print(f"\nSerde: {count:,} order details, {size:.0f} bytes framed on average, best of {repeat}")
    print("| direction | raw fastavro records/s | eventpipes serde records/s | overhead |")
    print("|---|---:|---:|---:|")
    for direction, raw, ours in (("serialize", "raw_write", "serde_write"), ("deserialize", "raw_read", "serde_read")):
        overhead = t[ours] / t[raw] - 1
        print(f"| {direction} | {count / t[raw]:,.0f} | {count / t[ours]:,.0f} | {overhead:+.1%} |")
    total = (t["serde_write"] + t["serde_read"]) / (t["raw_write"] + t["raw_read"]) - 1
    verdict = "met" if total <= TARGET_OVERHEAD else "NOT met"
    print(f"- round trip overhead {total:+.1%} (target at most +{TARGET_OVERHEAD:.0%}): {verdict}")
    client.close()


def bench_registry(url: str, registrations: int, lookups: int) -> None:
    run = uuid.uuid4().hex[:8]
    texts = [json.dumps({"type": "record", "name": f"R{i}", "fields": [{"name": "f", "type": "string"}]}) for i in range(registrations)]
    with httpx.Client(base_url=url) as http:
        start = time.perf_counter()
        ids = []
        for i, text in enumerate(texts):
            response = http.post(f"/subjects/bench-{run}-{i}/versions", json={"schema": text})
            ids.append(response.json()["id"])
        register_s = time.perf_counter() - start
        start = time.perf_counter()
        for i in range(lookups):
            k = i % registrations
            http.post(f"/subjects/bench-{run}-{k}", json={"schema": texts[k]}).raise_for_status()
        lookup_s = time.perf_counter() - start
        start = time.perf_counter()
        for i in range(lookups):
            http.get(f"/schemas/ids/{ids[i % registrations]}").raise_for_status()
        by_id_s = time.perf_counter() - start
        start = time.perf_counter()
        for i in range(lookups):
            http.post(f"/subjects/bench-{run}-{i % registrations}/versions", json={"schema": texts[i % registrations]})
        again_s = time.perf_counter() - start
    print("\nRegistry: one request at a time, client and registry sharing one core")
    print("| operation | requests | per second |")
    print("|---|---:|---:|")
    print(f"| register a new schema (through the Kafka log) | {registrations:,} | {registrations / register_s:,.0f} |")
    print(f"| register an already registered schema | {lookups:,} | {lookups / again_s:,.0f} |")
    print(f"| look up a schema under a subject (POST /subjects/{{s}}) | {lookups:,} | {lookups / lookup_s:,.0f} |")
    print(f"| get a schema by id (GET /schemas/ids/{{id}}) | {lookups:,} | {lookups / by_id_s:,.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 records, fewer requests")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    count = 10_000 if args.quick else 100_000
    print(f"{date.today()}, CPython {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores")
    kafka = client_config(Settings())
    topic = f"_schemas-bench-{uuid.uuid4().hex[:8]}"
    try:
        with BackgroundRegistry(kafka, topic) as url:
            bench_serde(url, count, 2 if args.quick else args.repeat)
            bench_registry(url, 100 if args.quick else 500, 1_000 if args.quick else 5_000)
    finally:
        with Admin(kafka) as admin:
            admin.delete_topic(topic)


if __name__ == "__main__":
    main()
