"""Replays end to end on the real broker: windows, rule filters, cancel, a killed job, bad requests.

One worker (`eventpipes run`) archives a bus with a pattern; events with times spread
over an hour are put on the bus once, and each test replays a window of them.
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from eventpipes.archive.errors import (
    IllegalStatusException, ResourceAlreadyExistsException, ResourceNotFoundException, ValidationException,
)
from eventpipes.archive.model import ReplayState
from eventpipes.archive.replay import ReplayJob, ReplayRequest, cancel_replay, describe_replay, start_replay
from eventpipes.archive.store import ArchiveStore
from eventpipes.events.envelope import Event, format_time
from eventpipes.kafka.topics import archive_topic, bus_topic
from eventpipes.testing import KafkaCluster, WorkerProcess, free_port, unique_name, wait_until

# The events below are put in time order, far faster than their times advance (an hour of
# event time in seconds), while the worker routes several batches of a partition at once:
# the archive must still hold each bus partition's events in put order, so that a replay
# merging the partitions by time can say exactly how far it got (EventLastReplayedTime).
TOPOLOGY = """
EventBuses:
  - {{Name: {bus}, Partitions: 3}}
Archives:
  - {{ArchiveName: {archive}, EventBusName: {bus}, EventPattern: {{source: [shop]}}, Description: test archive}}
Rules:
  - {{Name: r1, EventBusName: {bus}, EventPattern: {{source: [shop], detail-type: [Order]}}, Targets: [{{Id: t, Topic: {topic}.r1}}]}}
  - {{Name: r2, EventBusName: {bus}, EventPattern: {{source: [shop]}}, Targets: [{{Id: t, Topic: {topic}.r2}}]}}
  - {{Name: r3, EventBusName: {bus}, EventPattern: {{source: [shop]}}, Targets: [{{Id: t, Topic: {topic}.r3}}]}}
"""

#: Events archived: one every 1.2 s of event time over an hour; plus unarchived noise.
COUNT = 3000
T0 = int(datetime(2025, 3, 1, 10, 0, tzinfo=timezone.utc).timestamp())


@pytest.fixture(scope="module")
def world(kafka: KafkaCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    names = {"bus": unique_name("bus"), "archive": unique_name("arch"), "topic": unique_name("target")}
    topology = tmp_path_factory.mktemp("replay") / "topology.yaml"
    topology.write_text(TOPOLOGY.format(**names))
    worker = WorkerProcess(str(topology), group=unique_name("group"), web_port=free_port(),
                           env={"KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap}, log_file=str(topology.parent / "worker.log")).wait_ready()
    store: ArchiveStore | None = None
    try:
        events = []
        producer = kafka.producer()
        store = ArchiveStore(kafka.settings)
        for i in range(COUNT):
            moment = datetime.fromtimestamp(T0 + i * 1.2, tz=timezone.utc)
            event = Event(source="shop", detail_type="Order" if i % 2 else "Refund", detail={"i": i, "pad": "x" * 200},
                          account="000000000000", region="us-east-1", time=format_time(moment))
            events.append(event)
            producer.send(bus_topic(names["bus"]), key=event.id.encode(), value=event.to_json())
            if i % 10 == 0:  # noise the archive's pattern leaves out
                noise = Event(source="other", detail_type="Order", detail={}, account="000000000000", region="us-east-1", time=format_time(moment))
                producer.send(bus_topic(names["bus"]), key=noise.id.encode(), value=noise.to_json())
        producer.flush()
        wait_until(lambda: store.describe_archive(names["archive"])["EventCount"] >= COUNT, timeout=90, what="every event archived")
        yield {**names, "events": events, "store": store, "worker": worker}
    finally:
        worker.stop()
        print(worker.log()[-3000:])
        with ArchiveStore(kafka.settings) as cleaner:  # the topology's archive and this module's replays of it
            remove_archive_and_replays(cleaner, names["archive"])
        if store is not None:
            store.close()


def remove_archive_and_replays(store: ArchiveStore, archive: str) -> None:
    replays, _ = store.replays()
    for replay in replays.values():
        if replay.archive == archive:
            with contextlib.suppress(IllegalStatusException):  # still running: the session's end check names it
                store.delete_replay(replay.name)
    if archive in store.archives():
        store.delete_archive(archive)


def in_window(world: dict[str, Any], start: int, end: int, detail_type: str | None = None) -> set[str]:
    return {e.id for e in world["events"] if start <= _seconds(e.time) <= end and (detail_type is None or e.detail_type == detail_type)}


def _seconds(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def replayed_on(kafka: KafkaCluster, topic: str, name: str) -> list[dict[str, Any]]:
    return [body for body in (json.loads(r.value or b"{}") for r in kafka.read_all(topic, timeout=10)) if body.get("replay-name") == name]


def test_the_archive_holds_only_matching_events_with_their_time_as_timestamp(kafka: KafkaCluster, world: dict[str, Any]) -> None:
    described = world["store"].describe_archive(world["archive"])
    assert described["EventCount"] == COUNT
    assert described["SizeBytes"] > COUNT * 200
    assert described["State"] == "ENABLED" and described["RetentionDays"] == 0
    assert json.loads(described["EventPattern"]) == {"source": ["shop"]}
    first = kafka.read(archive_topic(world["archive"]), 5)
    for record in first:
        assert record.timestamp_ms == _seconds(json.loads(record.value or b"")["time"]) * 1000


def test_a_new_plain_topic_keeps_the_replayed_events_whatever_their_age(kafka: KafkaCluster, world: dict[str, Any]) -> None:
    """Replayed records keep the events' own (2025) times: under the broker's default 7-day retention its
    next check (every 5 minutes) deleted all a replay had written so far, which made the cancel and
    killed-job tests below fail about one run in five with 500-1,500 records missing."""
    from kafka.admin import ConfigResource, ConfigResourceType

    store, out = world["store"], unique_name("inspect")
    request = ReplayRequest(name=unique_name("replay"), archive=world["archive"], from_offsets={0: 0}, to_offsets={0: 5}, to_topic=out)
    assert ReplayJob(store, start_replay(store, request)).run().state == ReplayState.COMPLETED
    configs = kafka.admin._admin().describe_configs([ConfigResource(ConfigResourceType.TOPIC, out)])["topic"][out]
    assert configs.get("retention.ms", {}).get("value") == "-1"
    assert len(kafka.read_all(out)) == 5


def test_a_window_reaches_exactly_the_selected_rules_once_each(kafka: KafkaCluster, world: dict[str, Any]) -> None:
    start, end = T0 + 1200, T0 + 2400
    name = unique_name("replay")
    store = world["store"]
    replay = start_replay(store, ReplayRequest(name=name, archive=world["archive"], start_ms=start * 1000, end_ms=end * 1000,
                                               filter_arns=("r1", f"arn:aws:events:us-east-1:000000000000:rule/{world['bus']}/r2")))
    assert replay.state == ReplayState.STARTING
    final = ReplayJob(store, replay).run()
    assert final.state == ReplayState.COMPLETED
    expected_all, expected_orders = in_window(world, start, end), in_window(world, start, end, "Order")
    assert final.progress.events_replayed == len(expected_all) == 1001
    # the job read from the window's start: no scan of the archive's first 1,000 events
    assert final.progress.records_total < COUNT - 900

    r1 = wait_until(lambda: (lambda got: got if len(got) >= len(expected_orders) else None)(replayed_on(kafka, f"{world['topic']}.r1", name)),
                    timeout=60, what="r1's replayed events")
    r2 = wait_until(lambda: (lambda got: got if len(got) >= len(expected_all) else None)(replayed_on(kafka, f"{world['topic']}.r2", name)),
                    timeout=60, what="r2's replayed events")
    assert sorted(e["id"] for e in r1) == sorted(expected_orders)
    assert sorted(e["id"] for e in r2) == sorted(expected_all)
    assert replayed_on(kafka, f"{world['topic']}.r3", name) == []
    described = describe_replay(store, name)
    assert described["State"] == "COMPLETED"
    assert described["Destination"]["FilterArns"][0].endswith(f"rule/{world['bus']}/r1")
    assert described["EventLastReplayedTime"].startswith(datetime.fromtimestamp(end, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M"))
    assert described["Progress"]["EventsReplayed"] == 1001
    # replayed events were not archived again
    assert store.describe_archive(world["archive"])["EventCount"] == COUNT


def test_cancel_mid_replay_then_a_new_replay_from_event_last_replayed_time_covers_the_rest(kafka: KafkaCluster, world: dict[str, Any]) -> None:
    start, end = T0, T0 + 3600
    store, out = world["store"], unique_name("inspect")
    name = unique_name("replay")
    replay = start_replay(store, ReplayRequest(name=name, archive=world["archive"], start_ms=start * 1000, end_ms=end * 1000,
                                               to_topic=out, rate_limit=400))
    result: dict[str, Any] = {}
    job = threading.Thread(target=lambda: result.setdefault("final", ReplayJob(store, replay).run()))
    job.start()
    wait_until(lambda: store.get_replay(name)[0].progress.events_replayed > 200, timeout=30, what="replay under way")
    assert cancel_replay(store, name)["State"] == "CANCELLING"
    assert describe_replay(store, name)["State"] == "CANCELLING"
    job.join(timeout=30)
    cancelled = result["final"]
    assert cancelled.state == ReplayState.CANCELLED and cancelled.event_last_replayed_ms is not None
    assert cancelled.progress.events_replayed < COUNT
    with pytest.raises(IllegalStatusException):
        cancel_replay(store, name)
    rest = start_replay(store, ReplayRequest(name=unique_name("replay"), archive=world["archive"],
                                             start_ms=cancelled.event_last_replayed_ms, end_ms=end * 1000, to_topic=out))
    assert ReplayJob(store, rest).run().state == ReplayState.COMPLETED
    ids = [json.loads(r.value or b"")["id"] for r in kafka.read_all(out)]
    assert set(ids) == in_window(world, start, end)
    assert len(ids) - len(set(ids)) == 1  # the event at EventLastReplayedTime itself (the window includes its start)


def test_a_killed_replay_job_resumes_from_its_last_checkpoint_without_duplicates(kafka: KafkaCluster, world: dict[str, Any]) -> None:
    store, out, name = world["store"], unique_name("inspect"), unique_name("replay")
    env_cmd = [sys.executable, "-m", "eventpipes", "replay"]
    job = subprocess.Popen([*env_cmd, "start", "--name", name, "--archive", world["archive"], "--start", str(T0),
                            "--end", str(T0 + 3600), "--to-topic", out, "--rate", "500", "--quiet"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        wait_until(lambda: store.get_replay(name)[0].progress.events_replayed > 300 if name in store.replays()[0] else False,
                   timeout=60, what="replay under way")
    finally:
        job.send_signal(signal.SIGKILL)
        job.wait(timeout=10)
    wait_until(lambda: "has not reported" in (describe_replay(store, name).get("StateReason") or ""), timeout=20, what="lease expiry")
    assert describe_replay(store, name)["State"] == "RUNNING"
    done = subprocess.run([*env_cmd, "resume", name, "--quiet"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["State"] == "COMPLETED"
    ids = [json.loads(r.value or b"")["id"] for r in kafka.read_all(out)]
    assert len(ids) == len(set(ids)) == COUNT
    assert describe_replay(store, name)["Progress"]["EventsReplayed"] == COUNT


def test_invalid_requests_get_typed_errors_and_change_nothing(world: dict[str, Any]) -> None:
    store = world["store"]
    before = store.replays()[0]
    base = {"archive": world["archive"], "start_ms": T0 * 1000, "end_ms": (T0 + 60) * 1000}
    cases: list[tuple[dict[str, Any], type[Exception], str]] = [
        ({**base, "start_ms": (T0 + 60) * 1000, "end_ms": T0 * 1000}, ValidationException, "EventEndTime"),
        ({**base, "archive": "no-such-archive"}, ResourceNotFoundException, "ResourceNotFoundException"),
        ({**base, "destination": "arn:aws:events:us-east-1:000000000000:event-bus/another"}, ValidationException, "Destination.Arn"),
        ({**base, "filter_arns": ("arn:aws:events:us-east-1:000000000000:rule/another/r1",)}, ValidationException, "FilterArns"),
        ({**base, "start_ms": None}, ValidationException, "EventStartTime"),
    ]
    for fields, error, text in cases:
        with pytest.raises(error) as caught:
            start_replay(store, ReplayRequest(name=unique_name("bad"), **fields))
        assert text in str(caught.value)
        assert getattr(caught.value, "input_error", False)
    with pytest.raises(ValidationException):
        start_replay(store, ReplayRequest(name="bad name!", **base))
    name = unique_name("dup")
    ReplayJob(store, start_replay(store, ReplayRequest(name=name, **base))).run()
    with pytest.raises(ResourceAlreadyExistsException):
        start_replay(store, ReplayRequest(name=name, **base))
    after = store.replays()[0]
    assert set(after) - set(before) == {name}


def test_replay_by_offsets_into_a_plain_topic(kafka: KafkaCluster, world: dict[str, Any]) -> None:
    out = unique_name("inspect")
    done = subprocess.run([sys.executable, "-m", "eventpipes", "replay", "start", "--name", unique_name("replay"), "--archive", world["archive"],
                           "--from-offsets", "0:10,1:0", "--to-offsets", "0:20,1:5", "--to-topic", out, "--rate", "0", "--quiet"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["Progress"]["EventsReplayed"] == 15  # --quiet: one JSON document
    assert len(kafka.read_all(out)) == 15
    bad = subprocess.run([sys.executable, "-m", "eventpipes", "replay", "start", "--name", unique_name("replay"), "--archive", world["archive"],
                          "--start", "2025-03-01T11:00:00Z", "--end", "2025-03-01T10:00:00Z"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.startswith("ValidationException: Parameter EventEndTime is not valid")


def test_a_replay_between_epoch_seconds_replays_the_events_put_meanwhile(kafka: KafkaCluster, world: dict[str, Any]) -> None:
    """`date +%s` bounds mean seconds (as the AWS CLI reads them), not a 1970 window of milliseconds.

    Runs last in this module: it adds events to the shared archive.
    """
    before = int(time.time()) - 1
    producer = kafka.producer()
    live = [Event(source="shop", detail_type="Live", detail={"n": n}, account="000000000000", region="us-east-1",
                  time=format_time(datetime.now(timezone.utc))) for n in range(20)]
    for event in live:
        producer.send(bus_topic(world["bus"]), key=event.id.encode(), value=event.to_json())
    producer.flush()
    after = int(time.time()) + 2
    wait_until(lambda: world["store"].describe_archive(world["archive"])["EventCount"] >= COUNT + len(live), timeout=60,
               what="the live events archived")
    out, name = unique_name("inspect"), unique_name("replay")
    done = subprocess.run([sys.executable, "-m", "eventpipes", "replay", "start", "--name", name, "--archive", world["archive"],
                           "--start", str(before), "--end", str(after), "--to-topic", out, "--rate", "0", "--quiet"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    described = json.loads(done.stdout)  # one document (--quiet printed two before)
    assert described["State"] == "COMPLETED"
    # the window as resolved, in ISO 8601 UTC: the seconds given, not milliseconds in 1970
    assert described["EventStartTime"] == datetime.fromtimestamp(before, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert described["EventEndTime"] == datetime.fromtimestamp(after, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert described["Progress"]["EventsReplayed"] == len(live)
    assert sorted(json.loads(r.value or b"")["id"] for r in kafka.read_all(out)) == sorted(e.id for e in live)

    paris = datetime.fromtimestamp(after, tz=timezone(timedelta(hours=1))).isoformat()  # the same end, with an offset
    detached = subprocess.run([sys.executable, "-m", "eventpipes", "replay", "start", "--name", unique_name("replay"),
                               "--archive", world["archive"], "--start", f"{before}.5", "--end", paris,
                               "--to-topic", unique_name("inspect"), "--rate", "0", "--detach"],
                              capture_output=True, text=True, timeout=60)
    assert detached.returncode == 0, detached.stderr
    started = json.loads(detached.stdout)
    assert started["EventStartTime"].endswith(".500Z") and started["EventEndTime"] == described["EventEndTime"]
    wait_until(lambda: describe_replay(world["store"], started["ReplayArn"].rsplit("/", 1)[1])["State"] == "COMPLETED",
               timeout=60, what="the detached replay finished")

    milliseconds = subprocess.run([sys.executable, "-m", "eventpipes", "replay", "start", "--name", unique_name("replay"),
                                   "--archive", world["archive"], "--start", str(before * 1000), "--end", str(after * 1000)],
                                  capture_output=True, text=True, timeout=60)
    assert milliseconds.returncode == 2 and milliseconds.stdout == ""
    assert milliseconds.stderr.count("\n") == 1 and "looks like epoch milliseconds" in milliseconds.stderr
    assert milliseconds.stderr.startswith("ValidationException: Parameter EventStartTime is not valid")


def _unused() -> str:
    return str(uuid.uuid4()) + str(time.time())
