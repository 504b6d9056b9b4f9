"""The AWS CLI against ``eventpipes api`` (a real process, SigV4 on), on the real broker.

A short runbook of ``aws --endpoint-url ... events ...`` commands, as a user would type them,
signed with the key the endpoint was given; the events it puts carry that key's account.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from eventpipes.kafka.topics import bus_topic
from eventpipes.testing import KafkaCluster, free_port, unique_name, wait_until

KEY_ID, SECRET, ACCOUNT = "AKIDAWSCLITEST", "cli/secret+key", "111122223333"


@pytest.fixture(scope="module")
def api(kafka: KafkaCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("api") / "api.log"
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap, "EVENTPIPES_API_ACCESS_KEY_ID": KEY_ID,
           "EVENTPIPES_API_SECRET_ACCESS_KEY": SECRET, "EVENTPIPES_API_ACCOUNT_ID": ACCOUNT,
           "EVENTPIPES_CONTROL_TOPIC": unique_name("control")}  # a store of its own
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "eventpipes", "api", "--port", str(port)], stdout=out,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
    try:
        def listening() -> bool:
            assert process.poll() is None, log.read_text()
            with socket.socket() as probe:
                return probe.connect_ex(("127.0.0.1", port)) == 0

        wait_until(listening, timeout=60, what="eventpipes api listening")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


def aws(url: str, home: Path, *args: str, secret: str = SECRET) -> subprocess.CompletedProcess[str]:
    cli = shutil.which("aws", path=str(Path(sys.executable).parent))
    assert cli is not None, "the awscli package (test extra) is not installed"
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": secret,
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": str(home / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(home / "none")}
    return subprocess.run([cli, "--endpoint-url", url, "--output", "json", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def test_an_aws_cli_runbook(kafka: KafkaCluster, api: str, tmp_path: Path) -> None:
    bus, archive = unique_name("bus"), unique_name("arch")
    made = aws(api, tmp_path, "events", "create-event-bus", "--name", bus)
    assert made.returncode == 0 and json.loads(made.stdout)["EventBusArn"].endswith(f":event-bus/{bus}"), made.stderr
    entries = json.dumps([{"Source": "shop", "DetailType": "Order", "Detail": '{"total": 12}', "EventBusName": bus}])
    put = aws(api, tmp_path, "events", "put-events", "--entries", entries)
    assert put.returncode == 0, put.stderr
    answer = json.loads(put.stdout)
    assert answer["FailedEntryCount"] == 0
    event = json.loads(kafka.read(bus_topic(bus), 1)[0].value or b"")
    assert event["id"] == answer["Entries"][0]["EventId"] and event["account"] == ACCOUNT

    tested = aws(api, tmp_path, "events", "test-event-pattern", "--event-pattern", '{"source": ["shop"]}', "--event", json.dumps(event))
    assert tested.returncode == 0 and json.loads(tested.stdout) == {"Result": True}, tested.stderr

    source = f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/{bus}"
    created = aws(api, tmp_path, "events", "create-archive", "--archive-name", archive, "--event-source-arn", source)
    assert created.returncode == 0 and json.loads(created.stdout)["State"] == "ENABLED", created.stderr
    listed = aws(api, tmp_path, "events", "list-archives", "--name-prefix", archive)
    assert [a["ArchiveName"] for a in json.loads(listed.stdout)["Archives"]] == [archive], listed.stderr
    assert aws(api, tmp_path, "events", "delete-archive", "--archive-name", archive).returncode == 0

    missing = aws(api, tmp_path, "events", "describe-archive", "--archive-name", archive)
    assert missing.returncode in (254, 255)  # the AWS CLI v2 and v1 codes for a service error
    assert f"(ResourceNotFoundException) when calling the DescribeArchive operation: Archive {archive} does not exist." in missing.stderr

    listed_buses = aws(api, tmp_path, "events", "list-event-buses", "--name-prefix", bus)
    assert [b["Name"] for b in json.loads(listed_buses.stdout)["EventBuses"]] == [bus], listed_buses.stderr
    assert aws(api, tmp_path, "events", "delete-event-bus", "--name", bus).returncode == 0

    unsigned = aws(api, tmp_path, "events", "list-archives", secret="not-the-secret")
    assert unsigned.returncode in (254, 255) and "(InvalidSignatureException)" in unsigned.stderr
