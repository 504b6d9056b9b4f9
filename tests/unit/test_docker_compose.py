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


def _mounts(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(source, target) of each short-syntax volume entry (``source:target[:mode]``)."""
    return [(entry.split(":")[0], entry.split(":")[1]) for entry in service.get("volumes", [])]


def _is_path(source: str) -> bool:
    return source.startswith((".", "/", "~"))


def test_named_volumes_are_declared() -> None:
    document = compose()
    used = {source for s in document["services"].values() for source, _ in _mounts(s) if not _is_path(source)}
    assert used <= set(document.get("volumes", {}))


def test_bind_mounts_name_paths_of_the_checkout() -> None:
    for service in compose()["services"].values():
        for source, _ in _mounts(service):
            if _is_path(source):
                assert (ROOT / source).exists(), source


def test_the_worker_runs_a_topology_of_the_checkout_as_the_image_lays_it_out() -> None:
    from eventpipes.topology.load import load_file

    worker = compose()["services"]["worker"]
    command = worker["command"]
    assert command[0] == "run"
    topology = command[1]
    assert topology.startswith("topologies/") and (ROOT / topology).is_file()
    load_file(ROOT / topology)  # raises TopologyError if the worker would refuse it
    dockerfile = (ROOT / worker["build"] / "Dockerfile").read_text()
    assert "WORKDIR /app" in dockerfile and "COPY topologies ./topologies" in dockerfile
    assert ("./topologies", "/app/topologies") in _mounts(worker)


def test_kafka_keeps_its_log_directory_on_a_named_volume() -> None:
    kafka = compose()["services"]["kafka"]
    log_dir = kafka["environment"]["KAFKA_LOG_DIRS"]
    assert any(target == log_dir and not _is_path(source) for source, target in _mounts(kafka))


#: The Compose specification's top-level and service keys this file may use; a misspelt key
#: is what `docker compose config` refuses most often (compose-go checks the full schema).
TOP_LEVEL_KEYS = {"name", "services", "volumes", "networks", "configs", "secrets"}
SERVICE_KEYS = {
    "image", "build", "command", "entrypoint", "environment", "env_file", "ports", "volumes", "depends_on",
    "healthcheck", "restart", "networks", "hostname", "container_name", "user", "working_dir", "labels",
    "stop_grace_period", "stop_signal", "profiles", "expose", "deploy",
}
HEALTHCHECK_KEYS = {"test", "interval", "timeout", "retries", "start_period", "start_interval", "disable"}


def test_only_keys_of_the_compose_specification_are_used() -> None:
    document = compose()
    assert set(document) <= TOP_LEVEL_KEYS
    for name, service in document["services"].items():
        assert set(service) <= SERVICE_KEYS, name
        assert set(service["healthcheck"]) <= HEALTHCHECK_KEYS, name
        for key, value in service.get("environment", {}).items():
            assert isinstance(value, (str, int, float, bool)) or value is None, (name, key)
        assert all(isinstance(part, str) for part in service.get("command", [])), name


def test_the_worker_shows_how_to_give_it_a_secured_cluster() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    for variable in ("KAFKA_CLIENT_PROPERTIES", "KAFKA_SECURITY_PROTOCOL", "KAFKA_SASL_MECHANISM", "KAFKA_SASL_USERNAME",
                     "KAFKA_SASL_PASSWORD", "KAFKA_SSL_CA_LOCATION"):
        assert f"#   {variable}: " in text, variable
