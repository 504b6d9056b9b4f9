"""docker-compose.yml cannot be run here (no Docker engine); check what `docker compose config` would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict[str, Any]:
    return YAML(typ="safe").load((ROOT / "docker-compose.yml").read_text())


def test_it_defines_kafka_a_schema_registry_and_a_worker_each_with_a_health_check() -> None:
    services = compose()["services"]
    assert set(services) == {"kafka", "schema-registry", "worker"}
    for name, service in services.items():
        assert service["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL"), name
        assert ("image" in service) != ("build" in service), name


def test_dependencies_wait_for_healthy_services_that_exist() -> None:
    services = compose()["services"]
    for service in services.values():
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in services
            assert condition == {"condition": "service_healthy"}
            assert "healthcheck" in services[dependency]


def test_the_worker_and_the_registry_reach_kafka_on_its_internal_listener() -> None:
    services = compose()["services"]
    kafka_env = services["kafka"]["environment"]
    assert "INTERNAL://kafka:29092" in kafka_env["KAFKA_ADVERTISED_LISTENERS"]
    assert kafka_env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert services["worker"]["environment"]["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:29092"
    assert services["schema-registry"]["environment"]["SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS"].endswith("kafka:29092")
    assert (ROOT / services["worker"]["build"] / "Dockerfile").exists()


def test_named_volumes_are_declared() -> None:
    document = compose()
    used = {v.split(":")[0] for s in document["services"].values() for v in s.get("volumes", [])}
    assert used <= set(document.get("volumes", {}))
