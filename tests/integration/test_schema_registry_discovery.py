"""`eventpipes schemas discover` over a real bus, registering into the registry."""

from __future__ import annotations

import json
from typing import Any

from click.testing import CliRunner

from eventpipes.cli.main import cli
from eventpipes.kafka.topics import bus_topic
from eventpipes.schemas.registry.server import BackgroundRegistry
from eventpipes.testing import KafkaCluster, unique_name


def envelope(detail: dict[str, Any], source: str) -> dict[str, Any]:
    return {
        "version": "0", "id": unique_name("e"), "detail-type": "Order Placed", "source": source,
        "account": "000000000000", "time": "2026-01-01T00:00:00Z", "region": "us-east-1", "resources": [], "detail": detail,
    }


def run_discover(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["schemas", "discover", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_discover_registers_a_new_version_when_the_shape_changes(kafka: KafkaCluster, bus_name: str) -> None:
    topic = kafka.create_topic(bus_topic(bus_name))
    source = unique_name("com.example")
    kafka.seed_topic(topic, [envelope({"orderId": "o-1", "total": 3}, source), b"not json"])
    with BackgroundRegistry(kafka.client, unique_name("schemas")) as url:
        plain = run_discover("--bus", bus_name, "--timeout", "20")
        [schema] = plain["Schemas"]
        assert schema["SchemaName"] == f"{source}@OrderPlaced" and "SchemaVersion" not in schema
        assert schema["JSONSchemaDraft4"]["definitions"]["OrderPlaced"]["required"] == ["orderId", "total"]

        first = run_discover("--bus", bus_name, "--register", "--registry-url", url)["Schemas"][0]
        assert first["SchemaVersion"] == 1
        again = run_discover("--bus", bus_name, "--register", "--registry-url", url)["Schemas"][0]
        assert (again["SchemaId"], again["SchemaVersion"]) == (first["SchemaId"], 1)

        kafka.seed_topic(topic, [envelope({"orderId": "o-2", "total": 4, "coupon": "X"}, source)])
        changed = run_discover("--bus", bus_name, "--register", "--registry-url", url)["Schemas"][0]
        assert changed["SchemaVersion"] == 2 and changed["EventCount"] == 2
        assert "coupon" in json.dumps(changed["Avro"])
