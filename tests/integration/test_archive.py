"""Archives on the real broker: CLI lifecycle, live pickup by a running worker, retention, encryption, no re-archiving,
an archive that cannot be written holding its position, and key changes refused."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eventpipes.archive.errors import (
    ArchiveKeyError, IllegalStatusException, ResourceAlreadyExistsException, ResourceNotFoundException, ValidationException,
)
from eventpipes.archive.model import Archive, ReplayState, archive_group
from eventpipes.archive.replay import ReplayJob, ReplayRequest, start_replay
from eventpipes.archive.store import ArchiveStore
from eventpipes.events.envelope import Event, format_time
from eventpipes.kafka.offsets import committed_offsets, end_offsets
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
    worker = WorkerProcess(str(topology), group=unique_name("group"), web_port=free_port(), env=env,
                           log_file=str(topology.parent / "worker.log")).wait_ready()
    store = ArchiveStore(kafka.settings)
    try:
        yield {"bus": bus, "store": store, "worker": worker, "topology": topology}
    finally:
        store.close()
        worker.stop()


def remove_archives(store: ArchiveStore, names: list[str]) -> None:
    """Delete these archives (definition, topic, consumer group) and every replay of them."""
    replays, _ = store.replays()
    for replay in replays.values():
        if replay.archive in names:
            with contextlib.suppress(IllegalStatusException):  # still running: the session's end check names it
                store.delete_replay(replay.name)
    existing = store.archives()
    for name in names:
        if name in existing:
            store.delete_archive(name)


@pytest.fixture
def archives(world: dict[str, Any]) -> Iterator[list[str]]:
    """Names of the archives a test creates: each, and its replays, is removed at the test's end."""
    names: list[str] = []
    yield names
    remove_archives(world["store"], names)


def archived_past_the_bus_end(kafka: KafkaCluster, archive: str, bus: str) -> None:
    """Wait until the archive's consumer group committed past everything on the bus now: all of it was looked at."""
    ends = end_offsets(kafka.client, bus_topic(bus))

    def past() -> bool:
        committed = committed_offsets(kafka.client, archive_group(archive), bus_topic(bus))
        return all((committed.get(p) or 0) >= end for p, end in ends.items())

    wait_until(past, timeout=30, interval=0.2, what=f"archive {archive} past the bus's end")


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


def test_cli_lifecycle_and_a_running_worker_picks_up_a_new_archive(kafka: KafkaCluster, world: dict[str, Any], archives: list[str]) -> None:
    name = unique_name("arch")
    archives.append(name)
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

    # No wait for the worker: the archive's position on the bus was fixed when it was created.
    kept = put(kafka, world["bus"], 20)
    put(kafka, world["bus"], 5, source="elsewhere")
    put(kafka, world["bus"], 5, replay_name="some-replay")  # replayed events are never archived
    archived_past_the_bus_end(kafka, name, world["bus"])
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


def test_retention_removes_old_events(kafka: KafkaCluster, world: dict[str, Any], archives: list[str]) -> None:
    store, name = world["store"], unique_name("arch")
    archives.append(name)
    # Test-only path: a tiny retention in ms and tiny segments; RetentionDays stays in days for users.
    store.create_archive(Archive(ArchiveName=name, EventBusName=world["bus"], RetentionDays=1),
                         topic_overrides={"retention.ms": "3000", "segment.ms": "200", "segment.bytes": "16384"})
    put(kafka, world["bus"], 40, at=time.time() - 3600)  # an hour old: past the retention
    wait_until(lambda: store.describe_archive(name)["EventCount"] >= 40, timeout=30, what="archived")

    def expired() -> bool:
        put(kafka, world["bus"], 1)  # a new event rolls the segment
        return store.describe_archive(name)["EventCount"] <= 10

    wait_until(expired, timeout=90, interval=2, what="old events removed by retention")


def test_an_encrypted_archive_replays_only_with_its_key(kafka: KafkaCluster, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
                                                        archives: list[str]) -> None:
    store, name = world["store"], unique_name("arch")
    archives.append(name)
    monkeypatch.setenv("TEST_ARCHIVE_KEY", KEY)
    store.create_archive(Archive(ArchiveName=name, EventBusName=world["bus"], EncryptionKeyVariable="TEST_ARCHIVE_KEY"))
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


def test_a_topology_archive_cannot_move_to_another_bus(world: dict[str, Any], archives: list[str]) -> None:
    store, name = world["store"], unique_name("arch")
    archives.append(name)
    store.ensure_archive(Archive(ArchiveName=name, EventBusName=world["bus"]))
    with pytest.raises(ResourceAlreadyExistsException):
        store.ensure_archive(Archive(ArchiveName=name, EventBusName=unique_name("bus")))
    assert store.get_archive(name).archive.event_bus_name == world["bus"]


def replayed_ids(kafka: KafkaCluster, store: ArchiveStore, archive: str) -> list[str]:
    """Every event of the archive, replayed into a plain topic (decrypted with the key in the environment)."""
    window = {"start_ms": int(time.time() - 600) * 1000, "end_ms": int(time.time() + 600) * 1000}
    out = unique_name("out")
    final = ReplayJob(store, start_replay(store, ReplayRequest(name=unique_name("replay"), archive=archive, to_topic=out, **window))).run()
    assert final.state == ReplayState.COMPLETED
    return sorted(json.loads(r.value or b"")["id"] for r in kafka.read_all(out))


def test_an_archive_whose_key_a_worker_lacks_holds_its_position_says_why_and_catches_up(
    kafka: KafkaCluster, world: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, archives: list[str]
) -> None:
    store: ArchiveStore = world["store"]
    bus, name, variable, group = unique_name("bus"), unique_name("arch"), f"KEY_{unique_name('v').replace('-', '_')}", unique_name("group")
    archives.append(name)
    topology = tmp_path / "topology.yaml"
    topology.write_text(f"EventBuses:\n  - {{Name: {bus}, Partitions: 2}}\n")
    env = {"KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap}
    monkeypatch.delenv(variable, raising=False)
    without_key = WorkerProcess(str(topology), group=group, web_port=free_port(), env=env, log_file=str(tmp_path / "without-key.log")).wait_ready()
    try:
        monkeypatch.setenv(variable, KEY)  # this process has the key; the worker started without it
        store.create_archive(Archive(ArchiveName=name, EventBusName=bus, EncryptionKeyVariable=variable))
        held_at = committed_offsets(kafka.client, archive_group(name), bus_topic(bus))
        ids = put(kafka, bus, 30)

        failed = wait_until(lambda: (lambda d: d if d["State"] == "UPDATE_FAILED" else None)(store.describe_archive(name)),
                            timeout=30, what="describe saying the archive cannot be written")
        assert variable in failed["StateReason"] and "not set" in failed["StateReason"]
        assert failed["EventCount"] == 0
        shown = cli("archive", "describe", name)
        assert json.loads(shown.stdout)["State"] == "UPDATE_FAILED" and variable in json.loads(shown.stdout)["StateReason"]
        assert json.loads(cli("archive", "list", "--name-prefix", name).stdout)["Archives"][0]["State"] == "UPDATE_FAILED"
        # Held: the routers went past the events, the archive's position did not move.
        assert committed_offsets(kafka.client, archive_group(name), bus_topic(bus)) == held_at
        assert sum(end_offsets(kafka.client, bus_topic(bus)).values()) - sum(v or 0 for v in held_at.values()) == 30
    finally:
        without_key.stop()

    with WorkerProcess(str(topology), group=group, web_port=free_port(), env={**env, variable: KEY},
                       log_file=str(tmp_path / "with-key.log")).wait_ready():
        archived_past_the_bus_end(kafka, name, bus)
        recovered = wait_until(lambda: (lambda d: d if d["State"] == "ENABLED" else None)(store.describe_archive(name)),
                               timeout=30, what="describe saying the archive is written again")
        assert recovered["EventCount"] == 30 and "StateReason" not in recovered
        assert replayed_ids(kafka, store, name) == sorted(ids)  # nothing missing, each once


def test_changing_an_archives_key_is_refused_and_its_events_stay_readable(
    kafka: KafkaCluster, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch, archives: list[str]
) -> None:
    store: ArchiveStore = world["store"]
    name = unique_name("arch")
    archives.append(name)
    monkeypatch.setenv("TEST_ARCHIVE_KEY", KEY)
    store.create_archive(Archive(ArchiveName=name, EventBusName=world["bus"], EncryptionKeyVariable="TEST_ARCHIVE_KEY"))
    ids = put(kafka, world["bus"], 5)
    wait_until(lambda: store.describe_archive(name)["EventCount"] >= 5, timeout=30, what="archived")

    refused = cli("archive", "update", name, "--encryption-key-variable", "OTHER_ARCHIVE_KEY", env={"OTHER_ARCHIVE_KEY": OTHER_KEY})
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.startswith("ValidationException") and "EncryptionKeyVariable" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    monkeypatch.setenv("OTHER_ARCHIVE_KEY", OTHER_KEY)
    with pytest.raises(ValidationException, match="unreadable"):
        store.ensure_archive(Archive(ArchiveName=name, EventBusName=world["bus"], EncryptionKeyVariable="OTHER_ARCHIVE_KEY"))
    with pytest.raises(ValidationException, match="unreadable"):
        store.ensure_archive(Archive(ArchiveName=name, EventBusName=world["bus"]))  # dropping the key: the same
    assert store.get_archive(name).archive.encryption_key_variable == "TEST_ARCHIVE_KEY"
    assert replayed_ids(kafka, store, name) == sorted(ids)

    # Another variable holding the same key is no change of key.
    renamed = cli("archive", "update", name, "--encryption-key-variable", "SAME_ARCHIVE_KEY", env={"SAME_ARCHIVE_KEY": KEY})
    assert renamed.returncode == 0, renamed.stderr
    assert store.get_archive(name).archive.encryption_key_variable == "SAME_ARCHIVE_KEY"


def test_a_disabled_archive_archives_nothing_and_enabled_again_starts_with_new_events(
    kafka: KafkaCluster, world: dict[str, Any], archives: list[str]
) -> None:
    store: ArchiveStore = world["store"]
    name, bus = unique_name("arch"), world["bus"]
    archives.append(name)
    store.create_archive(Archive(ArchiveName=name, EventBusName=bus, EventPattern={"source": ["shop"]}))
    before = put(kafka, bus, 3)
    archived_past_the_bus_end(kafka, name, bus)

    store.update_archive(name, state="DISABLED")

    def consumers() -> list[Any]:
        return list(kafka.admin._admin().describe_groups([archive_group(name)])[archive_group(name)]["members"])

    wait_until(lambda: not consumers(), timeout=30, interval=0.2, what="the worker leaving the disabled archive's group")
    put(kafka, bus, 4)  # while disabled: never archived
    store.update_archive(name, state="ENABLED")
    after = put(kafka, bus, 5)
    archived_past_the_bus_end(kafka, name, bus)
    assert sorted(json.loads(r.value or b"")["id"] for r in kafka.read_all(archive_topic(name))) == sorted(before + after)


def test_archiving_takes_on_a_bus_added_while_it_runs(kafka: KafkaCluster, world: dict[str, Any], archives: list[str]) -> None:
    """What a worker whose topology gains a bus calls (``Archiving.update_buses``), in this process."""
    import asyncio

    from eventpipes.app import _archive_sink, partition_count
    from eventpipes.archive.running import Archiving
    from eventpipes.schemas.codec import BusDecoder
    from eventpipes.kafka.admin import Admin
    from eventpipes.kafka.sink import WorkerSink

    store: ArchiveStore = world["store"]
    bus, name = unique_name("bus"), unique_name("arch")
    archives.append(name)
    kafka.create_topic(bus_topic(bus), partitions=2)
    store.create_archive(Archive(ArchiveName=name, EventBusName=bus))
    ids = put(kafka, bus, 10)

    async def run() -> frozenset[str]:
        sink, admin = WorkerSink(kafka.client), Admin(kafka.client)
        archiving = Archiving(kafka.client, (), _archive_sink(sink), BusDecoder().envelope, partition_count=partition_count(admin))
        archiving.start()  # no bus: nothing runs
        try:
            await archiving.update_buses([bus])
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, lambda: archived_past_the_bus_end(kafka, name, bus))
            return archiving.archives
        finally:
            await archiving.stop()
            await sink.stop()
            admin.close()

    assert asyncio.run(run()) == frozenset({name})
    assert sorted(json.loads(r.value or b"")["id"] for r in kafka.read_all(archive_topic(name))) == sorted(ids)


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
