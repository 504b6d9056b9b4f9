"""The registry's REST API, driven by confluent-kafka's own SchemaRegistryClient."""

from __future__ import annotations

import json
from urllib.parse import quote
from collections.abc import Iterator

import httpx
import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from eventpipes.schemas.registry.server import BackgroundRegistry
from eventpipes.testing import KafkaCluster, unique_name


def avro(*fields: tuple[str, str], default: bool = True, name: str = "Order") -> Schema:
    body = {
        "type": "record",
        "name": name,
        "namespace": "shop",
        "fields": [{"name": n, "type": t, **({"default": None} if default and t.startswith("null") else {})} for n, t in fields],
    }
    # Union types are written "null|string" in these tests.
    for field in body["fields"]:  # type: ignore[union-attr]
        if "|" in field["type"]:
            field["type"] = field["type"].split("|")
    return Schema(json.dumps(body), "AVRO")


V1 = avro(("id", "string"))
V2 = avro(("id", "string"), ("note", "null|string"))
BREAKS_BACKWARD = avro(("id", "string"), ("total", "long"))


@pytest.fixture
def registry(kafka: KafkaCluster) -> Iterator[BackgroundRegistry]:
    server = BackgroundRegistry(kafka.client, unique_name("schemas"))
    with server:
        yield server


@pytest.fixture
def client(registry: BackgroundRegistry) -> SchemaRegistryClient:
    return SchemaRegistryClient({"url": registry.url})


def error(exc: pytest.ExceptionInfo[SchemaRegistryError]) -> tuple[int, int]:
    return exc.value.http_status_code, exc.value.error_code


def test_register_get_and_lookup(client: SchemaRegistryClient) -> None:
    subject = unique_name("orders") + "-value"
    first = client.register_schema(subject, V1)
    assert client.register_schema(subject, V1) == first  # identical: same id
    second = client.register_schema(subject, V2)
    assert second != first
    assert client.get_subjects() == [subject]
    assert client.get_versions(subject) == [1, 2]
    latest = client.get_latest_version(subject)
    assert (latest.version, latest.schema_id, latest.subject) == (2, second, subject)
    assert json.loads(client.get_version(subject, 1).schema.schema_str) == json.loads(V1.schema_str)
    assert json.loads(client.get_schema(first).schema_str) == json.loads(V1.schema_str)
    found = client.lookup_schema(subject, avro(("id", "string")))
    assert (found.schema_id, found.version) == (first, 1)
    assert client.get_schema_types() == ["AVRO"]
    assert [(v.subject, v.version) for v in client.get_schema_versions(second)] == [(subject, 2)]
    assert client.get_subjects_by_schema_id(second) == [subject]
    # Same schema under another subject: the same global id, version 1 there.
    other = unique_name("other")
    assert client.register_schema(other, V2) == second
    assert client.get_versions(other) == [1]


def test_not_found_codes(client: SchemaRegistryClient) -> None:
    subject = unique_name("s")
    with pytest.raises(SchemaRegistryError) as info:
        client.get_versions(subject)
    assert error(info) == (404, 40401)
    client.register_schema(subject, V1)
    with pytest.raises(SchemaRegistryError) as info:
        client.get_version(subject, 9)
    assert error(info) == (404, 40402)
    with pytest.raises(SchemaRegistryError) as info:
        client.get_schema(999_999)
    assert error(info) == (404, 40403)
    with pytest.raises(SchemaRegistryError) as info:
        client.lookup_schema(subject, V2)
    assert error(info) == (404, 40403)


def test_invalid_schema_is_42201(client: SchemaRegistryClient) -> None:
    with pytest.raises(SchemaRegistryError) as info:
        client.register_schema(unique_name("s"), Schema('{"type": "record", "name": "X"}', "AVRO"))
    assert error(info) == (422, 42201)
    with pytest.raises(SchemaRegistryError) as info:
        client.register_schema(unique_name("s"), Schema('{"type": "object"}', "JSON"))
    assert error(info) == (422, 42201)


def test_compatibility_enforced_and_explained(client: SchemaRegistryClient, registry: BackgroundRegistry) -> None:
    subject = unique_name("s")
    client.register_schema(subject, V1)
    with pytest.raises(SchemaRegistryError) as info:
        client.register_schema(subject, BREAKS_BACKWARD)
    assert error(info) == (409, 409)
    assert "READER_FIELD_MISSING_DEFAULT_VALUE" in info.value.error_message and "total" in info.value.error_message
    assert client.test_compatibility(subject, V2) is True
    assert client.test_compatibility(subject, BREAKS_BACKWARD) is False
    verbose = httpx.post(
        f"{registry.url}/compatibility/subjects/{subject}/versions/latest?verbose=true",
        json={"schema": BREAKS_BACKWARD.schema_str},
    )
    assert verbose.headers["content-type"].startswith("application/vnd.schemaregistry.v1+json")
    body = verbose.json()
    assert body["is_compatible"] is False and any("total" in m for m in body["messages"])
    assert httpx.post(f"{registry.url}/compatibility/subjects/{subject}/versions", json={"schema": V2.schema_str}).json() == {
        "is_compatible": True
    }
    # Subject level beats global; FORWARD accepts the new required field.
    assert client.set_compatibility(subject, "FORWARD") == {"compatibility": "FORWARD"}
    assert client.get_compatibility(subject) == "FORWARD"
    assert client.register_schema(subject, BREAKS_BACKWARD) > 0
    with pytest.raises(SchemaRegistryError) as info:
        client.set_compatibility(subject, "SIDEWAYS")
    assert error(info) == (422, 42203)


def test_config_defaults_and_errors(client: SchemaRegistryClient, registry: BackgroundRegistry) -> None:
    assert client.get_compatibility() == "BACKWARD"
    subject = unique_name("s")
    with pytest.raises(SchemaRegistryError) as info:
        client.get_compatibility(subject)
    assert error(info) == (404, 40408)
    assert httpx.get(f"{registry.url}/config/{subject}?defaultToGlobal=true").json() == {"compatibilityLevel": "BACKWARD"}
    assert httpx.get(f"{registry.url}/mode").json() == {"mode": "READWRITE"}
    assert httpx.get(f"{registry.url}/nope").json()["error_code"] == 404


def test_soft_and_permanent_delete(client: SchemaRegistryClient) -> None:
    subject = unique_name("s")
    first = client.register_schema(subject, V1)
    client.register_schema(subject, V2)
    with pytest.raises(SchemaRegistryError) as info:
        client.delete_version(subject, 2, permanent=True)
    assert error(info) == (404, 40407)
    assert client.delete_version(subject, 2) == 2
    assert client.get_versions(subject) == [1]
    assert client.delete_version(subject, 2, permanent=True) == 2
    with pytest.raises(SchemaRegistryError) as info:
        client.delete_subject(subject, permanent=True)
    assert error(info) == (404, 40405)
    assert client.delete_subject(subject) == [1]
    assert subject not in client.get_subjects()
    assert subject in client.get_subjects(deleted=True)
    with pytest.raises(SchemaRegistryError) as info:
        client.get_latest_version(subject)
    assert error(info) == (404, 40401)
    assert client.delete_subject(subject, permanent=True) == [1]
    assert subject not in client.get_subjects(deleted=True)
    client.clear_caches()
    assert json.loads(client.get_schema(first).schema_str) == json.loads(V1.schema_str)  # ids stay readable


def test_normalize_and_whitespace(client: SchemaRegistryClient) -> None:
    subject = unique_name("s")
    spaced = Schema('{ "type" : "record", "name" : "N", "fields" : [ {"name": "a", "type": "int"} ] }', "AVRO")
    compact = Schema('{"fields":[{"type":"int","name":"a"}],"name":"N","type":"record"}', "AVRO")
    first = client.register_schema(subject, spaced)
    assert client.register_schema(subject, compact) == first  # same parsed schema, same id
    with_props = Schema('{"type": "string", "b": 1, "a": 2}', "AVRO")
    reordered = Schema('{"type": "string", "a": 2, "b": 1}', "AVRO")
    other = unique_name("s")
    normalized = client.register_schema(other, with_props, normalize_schemas=True)
    assert client.register_schema(other, reordered, normalize_schemas=True) == normalized
    assert client.get_versions(other) == [1]


def nested_records(depth: int) -> str:
    """A record whose single field is a record, ``depth`` records deep (JSON nesting 3 per record)."""
    # Built as text: json.dumps itself recurses per level.
    opening = "".join(f'{{"type": "record", "name": "R{level}", "fields": [{{"name": "f", "type": ' for level in range(depth))
    return opening + '"int"' + "}]}" * depth


@pytest.mark.parametrize("subject", ["../etc/passwd", "a/../b", "x/..", "orders\nvalue", "orders\x00value", "tab\there", ""])
def test_invalid_subjects_are_refused_with_42208_and_not_registered(client: SchemaRegistryClient, registry: BackgroundRegistry,
                                                                   subject: str) -> None:
    path = quote(subject, safe="")
    answer = httpx.post(f"{registry.url}/subjects/{path}/versions", json={"schema": V1.schema_str})
    assert (answer.status_code, answer.json()["error_code"]) == (422, 42208) if subject else answer.status_code in (404, 405)
    if subject:
        assert "\n" not in answer.json()["message"] and "\x00" not in answer.json()["message"]
        with pytest.raises(SchemaRegistryError) as info:
            client.register_schema(subject, V1)
        assert error(info) == (422, 42208)
        config = httpx.put(f"{registry.url}/config/{path}", json={"compatibility": "NONE"})
        assert (config.status_code, config.json()["error_code"]) == (422, 42208)
    assert subject not in client.get_subjects(deleted=True)


def test_subjects_with_dots_and_slashes_that_are_not_path_segments_still_register(client: SchemaRegistryClient) -> None:
    for subject in (unique_name("a..b"), unique_name("ns/orders-value"), unique_name(":.ctx:orders"), unique_name("x.") + "..y"):
        assert client.register_schema(subject, V1) > 0
        assert client.get_versions(subject) == [1]


def test_a_schema_nested_2000_deep_is_a_422_42201_not_a_500(client: SchemaRegistryClient, registry: BackgroundRegistry) -> None:
    subject = unique_name("deep")
    arrays = '{"type": "array", "items": ' * 2000 + '"int"' + "}" * 2000
    for text in (nested_records(2000), arrays):
        with pytest.raises(SchemaRegistryError) as info:
            client.register_schema(subject, Schema(text, "AVRO"))
        assert error(info) == (422, 42201)
        assert "RecursionError" not in info.value.error_message
        check = httpx.post(f"{registry.url}/compatibility/subjects/{subject}/versions", json={"schema": text})
        assert (check.status_code, check.json()["error_code"]) == (422, 42201)
    deep_body = httpx.post(f"{registry.url}/subjects/{subject}/versions", content=b'{"schema": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
                           headers={"Content-Type": "application/json"})
    assert deep_body.status_code in (400, 422) and deep_body.json()["error_code"] in (400, 42201)
    # Just inside the bound: 42 nested records (JSON depth 126) register, and evolve under compatibility checks.
    assert client.register_schema(subject, Schema(nested_records(42), "AVRO")) > 0
    assert client.test_compatibility(subject, Schema(nested_records(42).replace('"int"', '"long"'), "AVRO")) is True
    assert subject in client.get_subjects()
