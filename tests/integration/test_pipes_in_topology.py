"""``eventpipes run FILE`` runs the file's RUNNING pipes next to its routers and stops them with it.

One topology: a bus, a rule writing the bus's events to a topic, a RUNNING pipe reading that
topic into another, and a STOPPED pipe on the same topic. Events put on the bus must go
through the router and then the pipe; the STOPPED pipe must never start; ``pipe stop``
stops the pipe alone; the worker's SIGTERM stops the pipe with its offsets committed.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

from eventpipes.bus.put_events import EventBusClient
from eventpipes.kafka.offsets import committed_offsets
from eventpipes.pipes import state
from eventpipes.records import Record
from eventpipes.settings import Settings
from eventpipes.testing import KafkaCluster, WorkerProcess, free_port, unique_name, wait_until

TOPOLOGY = """
EventBuses: [{{Name: {bus}}}]
Rules:
  - Name: to-topic
    EventBusName: {bus}
    EventPattern: {{detail-type: [Order]}}
    Targets: [{{Id: routed, Topic: {routed}}}]
Pipes:
  - Name: {running}
    Source: {routed}
    SourceParameters:
      SelfManagedKafkaParameters: {{StartingPosition: TRIM_HORIZON, BatchSize: 10, MaximumBatchingWindowInSeconds: 1}}
    Target: topic:{piped}
  - Name: {stopped}
    DesiredState: STOPPED
    Source: {routed}
    SourceParameters:
      SelfManagedKafkaParameters: {{StartingPosition: TRIM_HORIZON}}
    Target: topic:{never}
"""


def put_orders(kafka: KafkaCluster, bus: str, numbers: range) -> None:
    entries = [{"Source": "tests", "DetailType": "Order", "Detail": json.dumps({"n": n})} for n in numbers]
    with EventBusClient(kafka.settings) as client:
        for start in range(0, len(entries), 10):
            assert client.put_events(entries[start:start + 10], bus=bus).failed_entry_count == 0


def at_least(kafka: KafkaCluster, topic: str, count: int) -> list[Record]:
    records = kafka.read_all(topic, timeout=5)
    return records if len(records) >= count else []


def piped_numbers(records: list[Record]) -> list[int]:
    """The ``detail.n`` of each routed event the pipe delivered (in its Kafka record shape)."""
    numbers = []
    for record in records:
        shaped = json.loads(record.value or b"")
        assert shaped["eventSource"] == "SelfManagedKafka" and "eventID" in shaped
        numbers.append(json.loads(base64.b64decode(shaped["value"]))["detail"]["n"])
    return numbers


def test_run_starts_running_pipes_with_the_routers_and_stops_them_with_the_worker(kafka: KafkaCluster, tmp_path: Path) -> None:
    names = {"bus": unique_name("bus"), "routed": unique_name("routed"), "piped": unique_name("piped"),
             "never": unique_name("never"), "running": unique_name("pipe"), "stopped": unique_name("pipe")}
    topology = tmp_path / "topology.yaml"
    topology.write_text(TOPOLOGY.format(**names))
    kafka.create_topic(names["piped"])  # read before the pipe creates it
    env = {"KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap, "EVENTPIPES_STATE_DIR": str(tmp_path / "state")}
    settings = Settings(KAFKA_BOOTSTRAP_SERVERS=kafka.bootstrap, EVENTPIPES_STATE_DIR=tmp_path / "state")
    worker = WorkerProcess(str(topology), group=unique_name("group"), web_port=free_port(), env=env).wait_ready()
    try:
        assert f"pipes running: {names['running']}" in worker.log()
        put_orders(kafka, names["bus"], range(20))
        delivered = wait_until(lambda: at_least(kafka, names["piped"], 20), timeout=60, interval=0.2,
                               what="20 events through the rule and the pipe")
        assert sorted(piped_numbers(delivered)) == list(range(20))
        assert state.read_status(settings, names["stopped"]) is None, "a STOPPED pipe was started"
        assert set(committed_offsets(kafka.client, f"eventpipes.pipe.{names['stopped']}", names["routed"]).values()) == {None}

        # `pipe stop` stops the pipe in the worker; the routers keep going.
        stop = subprocess.run([sys.executable, "-m", "eventpipes", "pipe", "stop", names["running"]],
                              env={**os.environ, **env}, capture_output=True, text=True, timeout=60)
        assert stop.returncode == 0 and json.loads(stop.stdout)["CurrentState"] == "STOPPED", stop.stderr
        put_orders(kafka, names["bus"], range(20, 25))
        wait_until(lambda: len(kafka.read_all(names["routed"], timeout=5)) >= 25, timeout=60, interval=0.2,
                   what="events routed after the pipe stopped")
        assert worker.process.poll() is None
        assert sorted(piped_numbers(kafka.read_all(names["piped"]))) == list(range(20))
        committed = committed_offsets(kafka.client, f"eventpipes.pipe.{names['running']}", names["routed"])
        assert sum(offset or 0 for offset in committed.values()) == 20
    finally:
        worker.stop()
        print(worker.log()[-4000:])
    assert worker.process.returncode == 0, "the worker did not stop cleanly on SIGTERM"


def test_run_stops_running_pipes_with_the_worker(kafka: KafkaCluster, tmp_path: Path) -> None:
    source, target, name = unique_name("source"), unique_name("piped"), unique_name("pipe")
    kafka.create_topic(source)
    kafka.create_topic(target)
    topology = tmp_path / "pipes.yaml"
    topology.write_text(f"""
Pipes:
  - Name: {name}
    Source: {source}
    SourceParameters:
      SelfManagedKafkaParameters: {{StartingPosition: TRIM_HORIZON, BatchSize: 5}}
    Target: topic:{target}
""")
    env = {"KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap, "EVENTPIPES_STATE_DIR": str(tmp_path / "state")}
    settings = Settings(KAFKA_BOOTSTRAP_SERVERS=kafka.bootstrap, EVENTPIPES_STATE_DIR=tmp_path / "state")
    kafka.seed_topic(source, [{"n": n} for n in range(12)])
    worker = WorkerProcess(str(topology), group=unique_name("group"), web_port=free_port(), env=env).wait_ready()
    try:
        wait_until(lambda: len(kafka.read_all(target, timeout=5)) >= 12, timeout=60, interval=0.2,
                   what="a pipe-only file's pipe delivering")
        wait_until(lambda: sum(o or 0 for o in committed_offsets(kafka.client, f"eventpipes.pipe.{name}", source).values()) == 12,
                   timeout=30, interval=0.2, what="the pipe's offsets committed")
        assert (state.read_status(settings, name) or {}).get("CurrentState") == "RUNNING"
    finally:
        worker.stop()
        print(worker.log()[-4000:])
    assert worker.process.returncode == 0
    assert (state.read_status(settings, name) or {}).get("CurrentState") == "STOPPED"


def test_a_pipe_that_cannot_start_stops_the_worker_with_an_error(kafka: KafkaCluster, tmp_path: Path) -> None:
    bus, source = unique_name("bus"), unique_name("source")
    kafka.create_topic(source)
    topology = tmp_path / "topology.yaml"
    topology.write_text(f"""
EventBuses: [{{Name: {bus}}}]
Rules:
  - {{Name: r, EventBusName: {bus}, EventPattern: {{source: [x]}}, Targets: [{{Id: t, Topic: {unique_name("routed")}}}]}}
Pipes:
  - {{Name: {unique_name("pipe")}, Source: {source}, Target: "function:no_such_module_here:target"}}
""")
    env = {"KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap, "EVENTPIPES_STATE_DIR": str(tmp_path / "state")}
    worker = WorkerProcess(str(topology), group=unique_name("group"), web_port=free_port(), env=env)
    try:
        wait_until(lambda: worker.process.poll() is not None, timeout=60, what="the worker stopping on the pipe's error")
    finally:
        worker.stop()
    assert worker.process.returncode != 0
    assert "no_such_module_here" in worker.log()
