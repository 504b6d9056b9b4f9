"""The registry's HTTP Basic authentication, driven by confluent-kafka's SchemaRegistryClient and eventpipes' own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from eventpipes.errors import ConfigurationError
from eventpipes.schemas.client import RegistryClient
from eventpipes.schemas.registry.auth import BasicAuth
from eventpipes.schemas.registry.errors import Unauthorized
from eventpipes.schemas.registry.server import BackgroundRegistry
from eventpipes.schemas.serde import AvroDeserializer, AvroSerializer
from eventpipes.settings import get_settings
from eventpipes.testing import KafkaCluster, free_port, unique_name, wait_until

PASSWORD = "c0rrect-h0rse:battery"
ORDER = {"type": "record", "name": "Order", "namespace": "shop", "fields": [{"name": "id", "type": "string"}]}
UNAUTHORIZED = {"error_code": 401, "message": "Unauthorized"}


@pytest.fixture
def registry(kafka: KafkaCluster) -> Iterator[BackgroundRegistry]:
    server = BackgroundRegistry(kafka.client, unique_name("schemas"), auth=BasicAuth.of([("alice", PASSWORD), ("bob", "b0b")]))
    with server:
        yield server


def test_confluent_client_with_basic_auth_user_info_registers_and_fetches(registry: BackgroundRegistry) -> None:
    client = SchemaRegistryClient({"url": registry.url, "basic.auth.user.info": f"alice:{PASSWORD}"})
    subject = unique_name("orders") + "-value"
    schema_id = client.register_schema(subject, Schema(json.dumps(ORDER), "AVRO"))
    assert json.loads(client.get_schema(schema_id).schema_str) == ORDER
    assert client.get_latest_version(subject).schema_id == schema_id
    assert subject in client.get_subjects()


@pytest.mark.parametrize("user_info", ["alice:wrong", f"mallory:{PASSWORD}", "bob:" + PASSWORD, None])
def test_wrong_or_missing_credentials_get_401(registry: BackgroundRegistry, user_info: str | None) -> None:
    conf = {"url": registry.url, **({"basic.auth.user.info": user_info} if user_info else {})}
    with pytest.raises(SchemaRegistryError) as info:
        SchemaRegistryClient(conf).register_schema(unique_name("s"), Schema(json.dumps(ORDER), "AVRO"))
    assert (info.value.http_status_code, info.value.error_code) == (401, 401)
    assert PASSWORD not in str(info.value)


def test_a_401_has_confluents_body_and_a_basic_challenge_on_every_path(registry: BackgroundRegistry) -> None:
    for method, path in (("GET", "/subjects"), ("GET", "/"), ("GET", "/no/such/path"), ("POST", "/subjects/x/versions"),
                         ("PUT", "/config")):
        answer = httpx.request(method, registry.url + path, json={"schema": json.dumps(ORDER)})
        assert answer.status_code == 401, path
        assert answer.json() == UNAUTHORIZED
        assert answer.headers["WWW-Authenticate"].startswith("Basic ")
    assert httpx.get(registry.url + "/subjects", headers={"Authorization": "Basic not-base64!"}).status_code == 401
    assert httpx.get(registry.url + "/subjects", auth=("alice", PASSWORD)).status_code == 200


def test_eventpipes_client_and_serde_send_the_settings_credentials(registry: BackgroundRegistry, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCHEMA_REGISTRY_URL", registry.url)
    monkeypatch.setenv("SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO", f"alice:{PASSWORD}")
    get_settings.cache_clear()
    try:
        with RegistryClient() as client:
            serializer = AvroSerializer(client, ORDER, auto_register=True)
            frame = serializer.serialize({"id": "o-1"}, topic=unique_name("orders"))
        with RegistryClient(registry.url) as fresh:  # a URL given, credentials still from the settings
            assert AvroDeserializer(fresh).deserialize(frame, topic="t", partition=0, offset=0) == {"id": "o-1"}
        monkeypatch.setenv("SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO", "alice:wrong")
        get_settings.cache_clear()
        with RegistryClient() as wrong, pytest.raises(Unauthorized) as info:
            wrong.subjects()
        assert info.value.http_status == 401 and "refused" in str(info.value) and "wrong" not in str(info.value)
        monkeypatch.delenv("SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO")
        monkeypatch.setenv("SCHEMA_REGISTRY_URL", registry.url.replace("http://", f"http://alice:{PASSWORD.replace(':', '%3A')}@"))
        get_settings.cache_clear()
        with RegistryClient() as from_url:  # credentials in the URL, as Confluent's clients take them too
            assert isinstance(from_url.subjects(), list)
            assert PASSWORD not in from_url.url
    finally:
        get_settings.cache_clear()


def test_the_registry_refuses_a_non_loopback_address_without_users(kafka: KafkaCluster) -> None:
    with pytest.raises(ConfigurationError, match="not loopback"):
        with BackgroundRegistry(kafka.client, unique_name("schemas"), host="0.0.0.0"):
            pass
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap}
    env.pop("EVENTPIPES_REGISTRY_USERS_FILE", None)
    env.pop("EVENTPIPES_REGISTRY_BASIC_AUTH_USER_INFO", None)
    refused = subprocess.run([sys.executable, "-m", "eventpipes", "schema-registry", "--host", "0.0.0.0", "--port", str(free_port())],
                             env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1 and refused.stderr.startswith("ConfigurationError: the schema registry will not listen on 0.0.0.0")


def test_cli_registry_on_every_address_requires_the_users_file_credentials(kafka: KafkaCluster, tmp_path: Path) -> None:
    users = tmp_path / "users"
    users.write_text(f"# registry users\nalice:{PASSWORD}\n")
    port = free_port()
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap, "EVENTPIPES_REGISTRY_USERS_FILE": str(users)}
    process = subprocess.Popen([sys.executable, "-m", "eventpipes", "schema-registry", "--host", "0.0.0.0", "--port", str(port),
                                "--topic", unique_name("schemas")], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"  # bound on every address; only loopback is ever contacted
    try:
        def answers() -> int | None:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            try:
                return httpx.get(f"{url}/subjects", timeout=1).status_code
            except httpx.TransportError:
                return None

        assert wait_until(answers, timeout=30, what="the registry answering") == 401
        client = SchemaRegistryClient({"url": url, "basic.auth.user.info": f"alice:{PASSWORD}"})
        assert client.register_schema(unique_name("s"), Schema(json.dumps(ORDER), "AVRO")) >= 1
        with pytest.raises(SchemaRegistryError) as info:
            SchemaRegistryClient({"url": url, "basic.auth.user.info": "alice:nope"}).get_subjects()
        assert info.value.http_status_code == 401
    finally:
        process.terminate()
        _, err = process.communicate(timeout=20)
    assert "HTTP Basic authentication, 1 user(s)" in err.decode()
    assert PASSWORD not in err.decode() and "nope" not in err.decode()
