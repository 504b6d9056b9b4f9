"""Archives on the real broker: CLI lifecycle, live pickup by a running worker, retention, encryption, no re-archiving."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from eventpipes.archive.errors import ArchiveKeyError, ResourceAlreadyExistsException, ResourceNotFoundException
from eventpipes.archive.model import Archive, ReplayState
from eventpipes.archive.replay import ReplayJob, ReplayRequest, start_replay
from eventpipes.archive.store import ArchiveStore
from eventpipes.events.envelope import Event, format_time
from eventpipes.kafka.topics import archive_topic, bus_topic
from eventpipes.testing import KafkaCluster, WorkerProcess, free_port, unique_name, wait_until

KEY = base64.b64encode(b"k" * 32).decode()
OTHER_KEY = base64.b64encode(b"o" * 32).decode()


@pytest.fixture(scope="module")
def world(kafka: KafkaCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    bus = unique_name("bus")
    topology = tmp_path_factory.mktemp("archive") / "topology.yaml"
    topology.write_text(f"EventBuses:\n  - {{Name: {bus}, Partitions: 2}}\n")
    env = {"KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap, "TEST_ARCHIVE_KEY": KEY}
    worker = WorkerProcess(str(topology), group=unique_name("group"), web_port=free_port(), env=env).wait_ready()
    store = ArchiveStore(kafka.settings)
    try:
        yield {"bus": bus, "store": store, "worker": worker}
    finally:
        store.close()
        worker.stop()


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "eventpipes", *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


def put(kafka: KafkaCluster, bus: str, n: int, *, source: str = "shop", replay_name: str | None = None, at: float | None = None) -> list[str]:
    producer, ids = kafka.producer(), []
    for i in range(n):
        event = Event(source=source, detail_type="T", detail={"i": i}, account="000000000000", region="us-east-1",
                      time=format_time(__import__("datetime").datetime.fromtimestamp(at or time.time(), tz=__import__("datetime").timezone.utc)),
                      replay_name=replay_name)
        producer.send(bus_topic(bus), key=event.id.encode(), value=event.to_json())
        ids.append(event.id)
    producer.flush()
    return ids


def test_cli_lifecycle_and_a_running_worker_picks_up_a_new_archive(kafka: KafkaCluster, world: dict[str, Any]) -> None:
    name = unique_name("arch")
    created = cli("archive", "create", "--name", name, "--bus", world["bus"], "--event-pattern", '{"source": ["shop"]}',
                  "--retention-days", "7", "--description", "orders")
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["State"] == "ENABLED"
    again = cli("archive", "create", "--name", name, "--bus", world["bus"])
    assert again.returncode == 2 and again.stderr.startswith("ResourceAlreadyExistsException")
    bad = cli("archive", "create", "--name", unique_name("arch"), "--bus", world["bus"], "--event-pattern", '{"source": "shop"}')
    assert bad.returncode == 2 and bad.stderr.startswith("InvalidEventPatternException")
    long_name = cli("archive", "create", "--name", "a" * 49, "--bus", world["bus"])
    assert long_name.returncode == 2 and "ArchiveName" in long_name.stderr

    time.sleep(2)  # the worker's follower reads the new definition
    kept = put(kafka, world["bus"], 20)
    put(kafka, world["bus"], 5, source="elsewhere")
    put(kafka, world["bus"], 5, replay_name="some-replay")  # replayed events are never archived
    wait_until(lambda: world["store"].describe_archive(name)["EventCount"] >= 20, timeout=30, what="archived")
    time.sleep(1)
    described = json.loads(cli("archive", "describe", name).stdout)
    assert described["EventCount"] == 20 and described["SizeBytes"] > 0 and described["RetentionDays"] == 7
    assert sorted(json.loads(r.value or b"")["id"] for r in kafka.read_all(archive_topic(name))) == sorted(kept)
    listed = json.loads(cli("archive", "list", "--name-prefix", name).stdout)["Archives"]
    assert [a["ArchiveName"] for a in listed] == [name]

    updated = cli("archive", "update", name, "--retention-days", "0", "--description", "kept for ever")
    assert updated.returncode == 0, updated.stderr
    assert json.loads(cli("archive", "describe", name).stdout)["RetentionDays"] == 0
    assert cli("archive", "delete", name).returncode == 0
    missing = cli("archive", "describe", name)
    assert missing.returncode == 2 and missing.stderr.startswith("ResourceNotFoundException")


def test_retention_removes_old_events(kafka: KafkaCluster, world: dict[str, Any]) -> None:
    store, name = world["store"], unique_name("arch")
    # Test-only path: a tiny retention in ms and tiny segments; RetentionDays stays in days for users.
    store.create_archive(Archive(ArchiveName=name, EventBusName=world["bus"], RetentionDays=1),
                         topic_overrides={"retention.ms": "3000", "segment.ms": "200", "segment.bytes": "16384"})
    time.sleep(2)
    put(kafka, world["bus"], 40, at=time.time() - 3600)  # an hour old: past the retention
    wait_until(lambda: store.describe_archive(name)["EventCount"] >= 40, timeout=30, what="archived")

    def expired() -> bool:
        put(kafka, world["bus"], 1)  # a new event rolls the segment
        return store.describe_archive(name)["EventCount"] <= 10

    wait_until(expired, timeout=90, interval=2, what="old events removed by retention")


def test_an_encrypted_archive_replays_only_with_its_key(kafka: KafkaCluster, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    store, name = world["store"], unique_name("arch")
    monkeypatch.setenv("TEST_ARCHIVE_KEY", KEY)
    store.create_archive(Archive(ArchiveName=name, EventBusName=world["bus"], EncryptionKeyVariable="TEST_ARCHIVE_KEY"))
    time.sleep(2)
    ids = put(kafka, world["bus"], 10)
    wait_until(lambda: store.describe_archive(name)["EventCount"] >= 10, timeout=30, what="archived")
    raw = kafka.read_all(archive_topic(name))
    assert all(b"shop" not in (r.value or b"") for r in raw)  # stored encrypted

    window = {"start_ms": int(time.time() - 600) * 1000, "end_ms": int(time.time() + 600) * 1000}
    for key in (OTHER_KEY, None):
        if key is None:
            monkeypatch.delenv("TEST_ARCHIVE_KEY")
        else:
            monkeypatch.setenv("TEST_ARCHIVE_KEY", key)
        replay_name = unique_name("replay")
        with pytest.raises(ArchiveKeyError):
            start_replay(store, ReplayRequest(name=replay_name, archive=name, to_topic=unique_name("out"), **window))
        with pytest.raises(ResourceNotFoundException):
            store.get_replay(replay_name)  # nothing was recorded, nothing replayed
    monkeypatch.setenv("TEST_ARCHIVE_KEY", KEY)
    out = unique_name("out")
    final = ReplayJob(store, start_replay(store, ReplayRequest(name=unique_name("replay"), archive=name, to_topic=out, **window))).run()
    assert final.state == ReplayState.COMPLETED
    assert sorted(json.loads(r.value or b"")["id"] for r in kafka.read_all(out)) == sorted(ids)


def test_a_topology_archive_cannot_move_to_another_bus(world: dict[str, Any]) -> None:
    store, name = world["store"], unique_name("arch")
    store.ensure_archive(Archive(ArchiveName=name, EventBusName=world["bus"]))
    with pytest.raises(ResourceAlreadyExistsException):
        store.ensure_archive(Archive(ArchiveName=name, EventBusName=unique_name("bus")))
    assert store.get_archive(name).archive.event_bus_name == world["bus"]


def test_two_stores_racing_to_create_one_archive_get_one_winner(kafka: KafkaCluster, world: dict[str, Any]) -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    stores = [ArchiveStore(kafka.settings), ArchiveStore(kafka.settings)]
    try:
        for _ in range(3):
            name = unique_name("race")
            start = threading.Barrier(2)

            def create(store: ArchiveStore) -> str:
                start.wait()
                try:
                    store.create_archive(Archive(ArchiveName=name, EventBusName=world["bus"]))
                    return "created"
                except ResourceAlreadyExistsException as error:
                    return error.code

            with ThreadPoolExecutor(2) as pool:
                assert sorted(pool.map(create, stores)) == ["ResourceAlreadyExistsException", "created"]
            stores[0].delete_archive(name)
            assert name not in stores[1].archives()
    finally:
        for store in stores:
            store.close()
