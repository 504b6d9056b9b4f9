"""The registry's Kafka log: restarts rebuild the same state, two registries agree, the
default ``_schemas`` topic works, and the CLI serves it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from eventpipes.kafka.topics import SCHEMAS_TOPIC
from eventpipes.schemas.client import RegistryClient
from eventpipes.schemas.registry.server import BackgroundRegistry
from eventpipes.testing import KafkaCluster, unique_name, wait_until


def schema(*fields: str) -> str:
    # Every field after the first has a default, so each is BACKWARD compatible with the last.
    body = [{"name": f, "type": "string", **({"default": ""} if i else {})} for i, f in enumerate(fields)]
    return json.dumps({"type": "record", "name": "Event", "fields": body})


def test_restarted_registry_rebuilds_the_same_state(kafka: KafkaCluster) -> None:
    topic = unique_name("schemas")
    with BackgroundRegistry(kafka.client, topic) as url, RegistryClient(url) as client:
        ids = [client.register("a", schema("x")), client.register("a", schema("x", "y")), client.register("b", schema("z"))]
        client.set_compatibility("NONE", "b")
        client.delete_subject("b")
        before = [client.version("a", v) for v in client.versions("a")]
    with BackgroundRegistry(kafka.client, topic) as url, RegistryClient(url) as client:
        assert [client.version("a", v) for v in client.versions("a")] == before
        assert client.subjects() == ["a"]
        assert client.compatibility("b") == "NONE"
        expected = [json.loads(schema(*f)) for f in (["x"], ["x", "y"], ["z"])]
        assert [json.loads(client.schema_by_id(i)) for i in ids] == expected
        assert client.register("c", schema("new")) == max(ids) + 1  # ids continue, never reused


def snapshot(client: RegistryClient) -> list[tuple[str, int, int]]:
    return [(s, v, client.version(s, v).schema_id) for s in client.subjects() for v in client.versions(s)]


def test_two_registries_agree_and_race_to_one_id(kafka: KafkaCluster) -> None:
    topic = unique_name("schemas")
    with BackgroundRegistry(kafka.client, topic) as url_a, BackgroundRegistry(kafka.client, topic) as url_b:
        clients = [RegistryClient(url_a), RegistryClient(url_b)]
        same = schema("id", "raced")
        with ThreadPoolExecutor(8) as pool:
            raced = list(pool.map(lambda i: clients[i % 2].register("race", same), range(16)))
            spread = list(pool.map(lambda i: clients[i % 2].register(f"s{i % 4}", schema("id", *[f"f{j}" for j in range(i)])), range(12)))
        assert len(set(raced)) == 1
        assert len(set(spread)) == 12  # distinct schemas, distinct ids, no collision across registries

        def agree() -> bool:
            a, b = (snapshot(c) for c in clients)
            return a == b and len(a) == 13

        wait_until(agree, timeout=15, what="both registries hold the same versions")
        assert clients[0].versions("race") == [1]
        for client in clients:
            client.close()


def test_default_schemas_topic(kafka: KafkaCluster) -> None:
    with BackgroundRegistry(kafka.client, SCHEMAS_TOPIC) as url, RegistryClient(url) as client:
        subject = unique_name("default-topic")
        schema_id = client.register(subject, schema("x"))
        assert client.version(subject).schema_id == schema_id
    described = kafka.admin._admin().describe_configs  # noqa: SLF001 - read the topic's config as Kafka holds it
    from kafka.admin import ConfigResource, ConfigResourceType

    configs = described([ConfigResource(ConfigResourceType.TOPIC, SCHEMAS_TOPIC)])
    assert "compact" in repr(configs)
    assert kafka.admin.partitions_of(SCHEMAS_TOPIC) == [0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def cli_registry(kafka: KafkaCluster) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap}
    process = subprocess.Popen(
        [sys.executable, "-m", "eventpipes", "schema-registry", "--port", str(port), "--topic", unique_name("schemas")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        def answers() -> bool:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            try:
                return httpx.get(f"{url}/subjects", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(answers, timeout=30, what="the registry subprocess answering")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def test_cli_serves_the_registry(cli_registry: str) -> None:
    with RegistryClient(cli_registry) as client:
        assert client.register("cli", schema("x")) >= 1
        assert client.versions("cli") == [1]


def test_cli_reports_a_taken_port_on_one_line(cli_registry: str, kafka: KafkaCluster) -> None:
    port = cli_registry.rsplit(":", 1)[1]
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap}
    result = subprocess.run(
        [sys.executable, "-m", "eventpipes", "schema-registry", "--port", port, "--topic", unique_name("schemas")],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("RegistryCannotListen:")
