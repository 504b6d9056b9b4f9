"""The CLI as a user runs it: put-events, tail, broker, and their errors."""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from eventpipes.testing import KafkaCluster, wait_until

#: Every CLI call in tests gets a hard limit, so a hung command fails the test instead of the run.
CLI_TIMEOUT = 60


def run(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "eventpipes", *args],
        input=stdin, capture_output=True, text=True, timeout=CLI_TIMEOUT, env={**os.environ, **(env or {})},
    )


def cluster_env(kafka: KafkaCluster) -> dict[str, str]:
    return {"KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap}


ENTRIES = [
    {"Source": "com.example.orders", "DetailType": "OrderPlaced", "Detail": json.dumps({"orderId": "o-1", "total": 250})},
    {"Source": "com.example.orders", "DetailType": "OrderPlaced", "Detail": "{broken"},
    {"Source": "com.example.orders", "DetailType": "OrderShipped", "Detail": json.dumps({"orderId": "o-1"}), "Resources": ["arn:aws:x"]},
]


def test_put_events_from_a_file_prints_the_aws_response_and_tail_shows_the_events(kafka: KafkaCluster, created_bus: str, tmp_path: Path) -> None:
    entries = tmp_path / "entries.json"
    entries.write_text(json.dumps(ENTRIES))
    since = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    put = run("put-events", "--bus", created_bus, "--entries", f"file://{entries}", env=cluster_env(kafka))

    assert put.returncode == 0, put.stderr
    response = json.loads(put.stdout)
    assert response["FailedEntryCount"] == 1
    assert response["Entries"][1] == {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}
    tailed = run("tail", "--bus", created_bus, "--since", since, "--max-events", "2", "--timeout", "30", env=cluster_env(kafka))
    assert tailed.returncode == 0, tailed.stderr
    events = [json.loads(line) for line in tailed.stdout.splitlines()]
    assert sorted(e["id"] for e in events) == sorted(e["EventId"] for e in response["Entries"] if "EventId" in e)
    assert {e["detail-type"] for e in events} == {"OrderPlaced", "OrderShipped"}


def test_tail_since_epoch_seconds_starts_at_that_second_and_says_so(kafka: KafkaCluster, created_bus: str) -> None:
    """`date +%s` is seconds (as the AWS CLI reads it): read as milliseconds it started in 1970."""
    earlier = run("put-events", "--bus", created_bus, "--entries", json.dumps(ENTRIES[:1]), env=cluster_env(kafka))
    assert earlier.returncode == 0, earlier.stderr
    boundary = math.ceil(time.time())  # the next whole second: every earlier event is before it
    wait_until(lambda: time.time() >= boundary, timeout=5, what="the next second")
    since = time.time()
    later = run("put-events", "--bus", created_bus, "--entries", json.dumps([ENTRIES[2]]), env=cluster_env(kafka))
    assert later.returncode == 0, later.stderr
    for text in (f"{since:.3f}", str(boundary)):
        tailed = run("tail", "--bus", created_bus, "--since", text, "--max-events", "1", "--timeout", "30", env=cluster_env(kafka))
        assert tailed.returncode == 0, tailed.stderr
        assert json.loads(tailed.stdout)["id"] == json.loads(later.stdout)["Entries"][0]["EventId"]
        resolved = datetime.fromtimestamp(float(text), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
        assert f"from {resolved}." in tailed.stderr
    millis = run("tail", "--bus", created_bus, "--since", str(int(since * 1000)), "--timeout", "1", env=cluster_env(kafka))
    assert millis.returncode == 2 and millis.stderr.count("\n") == 1
    assert millis.stderr.startswith("ValidationException: Parameter --since is not valid") and "milliseconds" in millis.stderr


def test_put_events_reads_entries_from_stdin(kafka: KafkaCluster, created_bus: str) -> None:
    put = run("put-events", "--bus", created_bus, "--entries", "-", stdin=json.dumps(ENTRIES[:1]), env=cluster_env(kafka))
    assert put.returncode == 0, put.stderr
    tailed = run("tail", "--bus", created_bus, "--from-beginning", "--max-events", "1", "--timeout", "30", env=cluster_env(kafka))
    assert json.loads(tailed.stdout)["detail"] == {"orderId": "o-1", "total": 250}


def test_tail_exits_after_its_timeout_when_nothing_arrives(kafka: KafkaCluster, created_bus: str) -> None:
    tailed = run("tail", "--bus", created_bus, "--timeout", "1", env=cluster_env(kafka))
    assert (tailed.returncode, tailed.stdout) == (0, "")


def test_invalid_input_exits_2_with_one_line_naming_the_problem(kafka: KafkaCluster, bus_name: str) -> None:
    not_json = run("put-events", "--bus", bus_name, "--entries", "[{", env=cluster_env(kafka))
    too_many = run("put-events", "--bus", bus_name, "--entries", json.dumps(ENTRIES * 4), env=cluster_env(kafka))
    bad_bus = run("put-events", "--bus", "a/b", "--entries", json.dumps(ENTRIES[:1]), env=cluster_env(kafka))
    missing = run("put-events", "--entries", "file:///nonexistent/entries.json", env=cluster_env(kafka))

    assert (not_json.returncode, not_json.stderr.startswith("ValidationException: --entries is not valid JSON")) == (2, True)
    assert too_many.returncode == 2 and "less than or equal to 10" in too_many.stderr
    assert bad_bus.returncode == 2 and "--bus" in bad_bus.stderr
    assert missing.returncode == 2 and "/nonexistent/entries.json" in missing.stderr
    for result in (not_json, too_many, bad_bus, missing):
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_an_unreachable_cluster_exits_1_naming_it() -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    env = {"KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{port}", "EVENTPIPES_KAFKA_TIMEOUT": "2"}
    put = run("put-events", "--entries", json.dumps(ENTRIES[:1]), env=env)
    assert put.returncode == 1
    assert put.stderr.startswith(f"BrokerUnavailable: cannot reach Kafka at 127.0.0.1:{port}")
    assert "Traceback" not in put.stderr


def test_bad_settings_exit_2_naming_the_variable() -> None:
    result = run("put-events", "--entries", "[]", env={"EVENTPIPES_MAX_ENTRY_BYTES": "2000000"})
    assert result.returncode == 2
    assert "EVENTPIPES_MAX_ENTRY_BYTES" in result.stderr and "Traceback" not in result.stderr


def test_broker_start_with_an_external_cluster_starts_nothing() -> None:
    result = run("broker", "start", env={"KAFKA_BOOTSTRAP_SERVERS": "kafka.example:9092"})
    assert result.returncode == 0
    assert result.stdout.strip() == "kafka.example:9092"
    assert "starting nothing" in result.stderr
