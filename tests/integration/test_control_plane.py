"""The control plane on the real broker: round trips, racing writers, a fresh reader, follow()."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from eventpipes.control import ControlPlane, ControlPlaneError
from eventpipes.kafka.topics import bus_topic
from eventpipes.settings import Settings
from eventpipes.testing import KafkaCluster, unique_name, wait_until
from eventpipes.topology.model import Topology


@pytest.fixture
def store_settings(kafka: KafkaCluster) -> Iterator[Settings]:
    """Settings with a control topic of this test's own (deleted at the end with the run's topics)."""
    yield kafka.settings.model_copy(update={"control_topic": unique_name("control")})


@pytest.fixture
def plane(store_settings: Settings) -> Iterator[ControlPlane]:
    with ControlPlane(store_settings) as opened:
        yield opened


def test_bus_round_trip_creates_its_topic(plane: ControlPlane, kafka: KafkaCluster) -> None:
    name = unique_name("bus")
    created = plane.invoke("CreateEventBus", {"Name": name, "Description": "orders"})
    assert created["EventBusArn"].endswith(f":event-bus/{name}")
    assert bus_topic(name) in kafka.admin.topics()
    assert plane.bus_exists(name) and plane.bus_exists("default") and not plane.bus_exists(name + "x")
    described = plane.invoke("DescribeEventBus", {"Name": name})
    assert described["Description"] == "orders" and isinstance(described["CreationTime"], float)
    assert name in [b["Name"] for b in plane.invoke("ListEventBuses", {"NamePrefix": name})["EventBuses"]]
    plane.invoke("DeleteEventBus", {"Name": name})
    with pytest.raises(ControlPlaneError) as caught:
        plane.invoke("DescribeEventBus", {"Name": name})
    assert caught.value.code == "ResourceNotFoundException"
    assert not plane.bus_exists(name)
    assert bus_topic(name) not in kafka.admin.topics()  # its topic goes with it: PutEvents to it fails


def test_two_planes_racing_to_create_one_name_get_one_winner(store_settings: Settings) -> None:
    with ControlPlane(store_settings) as first, ControlPlane(store_settings) as second:
        for _ in range(3):
            name = unique_name("race")
            start = threading.Barrier(2)

            def create(plane: ControlPlane) -> str:
                start.wait()
                try:
                    plane.invoke("CreateEventBus", {"Name": name})
                    return "created"
                except ControlPlaneError as error:
                    return f"{error.code}: {error.message}"

            with ThreadPoolExecutor(2) as pool:
                outcomes = sorted(pool.map(create, [first, second]))
            assert outcomes == [f"ResourceAlreadyExistsException: Event bus {name} already exists.", "created"]
            # Each plane reads what the other wrote, with no wait: reads apply the log up to its end first.
            assert first.invoke("DescribeEventBus", {"Name": name}) == second.invoke("DescribeEventBus", {"Name": name})


def test_a_fresh_plane_reads_the_same_store(store_settings: Settings) -> None:
    name = unique_name("bus")
    with ControlPlane(store_settings) as writer:
        writer.invoke("CreateEventBus", {"Name": name, "Description": "kept"})
        writer.invoke("UpdateEventBus", {"Name": name, "Description": "changed"})
        before = writer.invoke("ListEventBuses", {})
    with ControlPlane(store_settings) as fresh:
        assert fresh.invoke("ListEventBuses", {}) == before
        assert fresh.invoke("DescribeEventBus", {"Name": name})["Description"] == "changed"
        assert fresh.bus_exists(name)


def test_follow_sees_a_change_within_a_second(plane: ControlPlane, store_settings: Settings) -> None:
    seen: list[tuple[float, Topology]] = []
    stop = plane.follow(lambda topology: seen.append((time.monotonic(), topology)))
    try:
        name = unique_name("bus")
        with ControlPlane(store_settings) as other:  # a change made through another process
            changed_at = time.monotonic()
            other.invoke("CreateEventBus", {"Name": name})

            def has_it() -> Any:
                return next((at for at, t in seen if name in [b.name for b in t.event_buses]), None)

            at = wait_until(has_it, timeout=5, what="the follower's snapshot with the new bus")
        assert at - changed_at < 1.0
    finally:
        stop()


def test_rules_and_targets_round_trip_and_snapshot(plane: ControlPlane, store_settings: Settings) -> None:
    bus, rule = unique_name("bus"), unique_name("rule")
    plane.invoke("CreateEventBus", {"Name": bus})
    plane.invoke("PutRule", {"Name": rule, "EventBusName": bus, "EventPattern": '{"source": ["shop"]}'})
    result = plane.invoke("PutTargets", {"Rule": rule, "EventBusName": bus, "Targets": [
        {"Id": "audit", "Arn": "kafka:topic/audit"}, {"Id": "bad", "Arn": "arn:aws:states:us-east-1:123456789012:stateMachine:m"}]})
    assert result["FailedEntryCount"] == 1 and result["FailedEntries"][0]["TargetId"] == "bad"
    with ControlPlane(store_settings) as fresh:
        assert fresh.invoke("DescribeRule", {"Name": rule, "EventBusName": bus})["EventPattern"] == '{"source": ["shop"]}'
        (snapshot_rule,) = [r for r in fresh.snapshot().rules if r.name == rule]
        assert [(t.kind, t.destination) for t in snapshot_rule.targets] == [("Topic", "audit")]
    with pytest.raises(ControlPlaneError) as caught:
        plane.invoke("DeleteRule", {"Name": rule, "EventBusName": bus})
    assert (caught.value.code, caught.value.message) == ("ValidationException", "Rule can't be deleted since it has targets.")
    plane.invoke("RemoveTargets", {"Rule": rule, "EventBusName": bus, "Ids": ["audit"]})
    plane.invoke("DeleteRule", {"Name": rule, "EventBusName": bus})
    assert plane.invoke("ListRules", {"EventBusName": bus}) == {"Rules": []}


def test_connection_secrets_never_reach_the_topic_in_clear(store_settings: Settings, kafka: KafkaCluster) -> None:
    import base64
    import os

    from pydantic import SecretStr


    keyed = store_settings.model_copy(update={"control_key": SecretStr(base64.b64encode(os.urandom(32)).decode())})
    secrets = ["api-key-value-7f3a", "basic-password-91c2", "oauth-client-secret-5d0e", "secret-header-c4b8"]
    with ControlPlane(keyed) as plane:
        plane.invoke("CreateConnection", {"Name": "k", "AuthorizationType": "API_KEY", "AuthParameters": {
            "ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": secrets[0]},
            "InvocationHttpParameters": {"HeaderParameters": [{"Key": "x-s", "Value": secrets[3], "IsValueSecret": True}]}}})
        plane.invoke("CreateConnection", {"Name": "b", "AuthorizationType": "BASIC", "AuthParameters": {
            "BasicAuthParameters": {"Username": "u", "Password": secrets[1]}}})
        plane.invoke("CreateConnection", {"Name": "o", "AuthorizationType": "OAUTH_CLIENT_CREDENTIALS", "AuthParameters": {
            "OAuthParameters": {"ClientParameters": {"ClientID": "id", "ClientSecret": secrets[2]},
                                "AuthorizationEndpoint": "https://auth.example.com/token", "HttpMethod": "POST"}}})
        described = json.dumps([plane.invoke("DescribeConnection", {"Name": n}) for n in ("k", "b", "o")])
        decrypted = {c.name: c for c in plane.snapshot().connections}
        assert decrypted["b"].auth_parameters.basic.password == secrets[1] and decrypted["k"].unusable is None
    raw = b"".join((r.value or b"") + (r.key or b"") for r in kafka.read_all(keyed.control_topic, timeout=10))
    assert b'"Name":"k"' in raw  # the records are there, and readable as JSON
    for secret in secrets:
        assert secret.encode() not in raw and secret not in described
    with ControlPlane(store_settings) as keyless:  # a worker without the key
        connections = {c.name: c for c in keyless.snapshot().connections}
        assert all(c.unusable for c in connections.values())
        with pytest.raises(ControlPlaneError) as caught:
            keyless.invoke("CreateConnection", {"Name": "x", "AuthorizationType": "BASIC", "AuthParameters": {
                "BasicAuthParameters": {"Username": "u", "Password": "p"}}})
        assert caught.value.code == "ValidationException" and "EVENTPIPES_CONTROL_KEY" in caught.value.message


def test_pipe_round_trip_through_two_planes(store_settings: Settings) -> None:
    name = unique_name("pipe")
    request = {"Name": name, "Source": "kafka:topic/orders", "Target": "kafka:topic/orders.copy",
               "RoleArn": "arn:aws:iam::123456789012:role/pipes"}
    with ControlPlane(store_settings) as first, ControlPlane(store_settings) as second:
        assert first.invoke("CreatePipe", request)["CurrentState"] == "CREATING"
        with pytest.raises(ControlPlaneError) as caught:
            second.invoke("CreatePipe", request)
        assert (caught.value.code, caught.value.message) == ("ConflictException", f"Pipe {name} already exists.")
        assert second.invoke("StopPipe", {"Name": name})["CurrentState"] == "STOPPING"
        assert first.invoke("DescribePipe", {"Name": name})["DesiredState"] == "STOPPED"
        (pipe,) = [p for p in first.snapshot().pipes if p.name == name]
        assert (pipe.source_topic, pipe.target, pipe.desired_state) == ("orders", "topic:orders.copy", "STOPPED")
        assert second.invoke("DeletePipe", {"Name": name})["DesiredState"] == "DELETED"
        with pytest.raises(ControlPlaneError) as caught:
            first.invoke("DescribePipe", {"Name": name})
        assert caught.value.code == "NotFoundException"


def test_an_unreachable_cluster_is_a_typed_error(store_settings: Settings) -> None:
    from eventpipes.kafka.errors import BrokerUnavailable
    from eventpipes.testing import free_port

    away = store_settings.model_copy(update={"kafka_bootstrap_servers": f"127.0.0.1:{free_port()}", "kafka_timeout_seconds": 1.0})
    started = time.monotonic()
    with pytest.raises(BrokerUnavailable):
        ControlPlane(away)
    assert time.monotonic() - started < 10


def test_close_ends_every_follower(store_settings: Settings) -> None:
    plane = ControlPlane(store_settings)
    plane.follow(lambda topology: None)
    plane.close()
    assert not [t for t in threading.enumerate() if t.name in ("eventpipes-control-follow", "eventpipes-control-follower") and t.is_alive()]
