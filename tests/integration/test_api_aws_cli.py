"""The AWS CLI against ``eventpipes api`` (a real process, SigV4 on), on the real broker.

Short runbooks of ``aws --endpoint-url ... events ...`` and ``aws ... pipes ...`` commands,
as a user would type them, signed with the key the endpoint was given; the events they put
carry that key's account.
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
from typing import Any

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


def ok(result: subprocess.CompletedProcess[str]) -> Any:
    """The command's JSON answer ({} for commands that print nothing); fails the test with its stderr otherwise."""
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if result.stdout.strip() else {}


def test_an_aws_cli_runbook(kafka: KafkaCluster, api: str, tmp_path: Path) -> None:
    """Create a bus, a rule and its target, put an event, pause the rule, archive, clean up: as a runbook types it."""
    bus, archive = unique_name("bus"), unique_name("arch")
    queue = f"arn:aws:sqs:us-east-1:{ACCOUNT}:{unique_name('queue')}"
    run = lambda *args, **kw: aws(api, tmp_path, *args, **kw)  # noqa: E731

    assert ok(run("events", "create-event-bus", "--name", bus))["EventBusArn"].endswith(f":event-bus/{bus}")
    rule_arn = ok(run("events", "put-rule", "--name", "orders", "--event-bus-name", bus,
                      "--event-pattern", '{"source": ["shop"]}'))["RuleArn"]
    assert rule_arn == f"arn:aws:events:us-east-1:{kafka.settings.account}:rule/{bus}/orders"
    put_targets = ok(run("events", "put-targets", "--rule", "orders", "--event-bus-name", bus,
                         "--targets", f"Id=queue,Arn={queue}"))  # the CLI's shorthand syntax
    assert put_targets == {"FailedEntryCount": 0, "FailedEntries": []}
    assert ok(run("events", "list-targets-by-rule", "--rule", "orders", "--event-bus-name", bus))["Targets"] == [
        {"Id": "queue", "Arn": queue}]

    entries = json.dumps([{"Source": "shop", "DetailType": "Order", "Detail": '{"total": 12}', "EventBusName": bus}])
    answer = ok(run("events", "put-events", "--entries", entries))
    assert answer["FailedEntryCount"] == 0
    event = json.loads(kafka.read(bus_topic(bus), 1)[0].value or b"")
    assert event["id"] == answer["Entries"][0]["EventId"] and event["account"] == ACCOUNT
    tested = ok(run("events", "test-event-pattern", "--event-pattern", '{"source": ["shop"]}', "--event", json.dumps(event)))
    assert tested == {"Result": True}

    assert ok(run("events", "disable-rule", "--name", "orders", "--event-bus-name", bus)) == {}
    assert [(r["Name"], r["State"]) for r in ok(run("events", "list-rules", "--event-bus-name", bus))["Rules"]] == [
        ("orders", "DISABLED")]

    source = f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/{bus}"
    assert ok(run("events", "create-archive", "--archive-name", archive, "--event-source-arn", source))["State"] == "ENABLED"
    ok(run("events", "delete-archive", "--archive-name", archive))

    has_targets = run("events", "delete-rule", "--name", "orders", "--event-bus-name", bus)
    assert has_targets.returncode in (254, 255)  # the AWS CLI v2 and v1 codes for a service error
    assert "(ValidationException) when calling the DeleteRule operation: Rule can't be deleted since it has targets." in has_targets.stderr
    assert ok(run("events", "remove-targets", "--rule", "orders", "--event-bus-name", bus, "--ids", "queue"))["FailedEntryCount"] == 0
    ok(run("events", "delete-rule", "--name", "orders", "--event-bus-name", bus))
    ok(run("events", "delete-event-bus", "--name", bus))
    missing = run("events", "describe-event-bus", "--name", bus)
    assert f"(ResourceNotFoundException) when calling the DescribeEventBus operation: Event bus {bus} does not exist." in missing.stderr

    unsigned = run("events", "list-archives", secret="not-the-secret")
    assert unsigned.returncode in (254, 255) and "(InvalidSignatureException)" in unsigned.stderr
    kafka.admin.delete_topics([bus_topic(bus)])


def test_an_aws_cli_pipes_runbook(api: str, tmp_path: Path) -> None:
    name = unique_name("pipe")
    run = lambda *args: aws(api, tmp_path, "pipes", *args)  # noqa: E731
    created = ok(run("create-pipe", "--name", name, "--source", "smk://127.0.0.1:9092", "--target", f"kafka:topic/{unique_name('out')}",
                     "--role-arn", "arn:aws:iam::000000000000:role/r",
                     "--source-parameters", json.dumps({"SelfManagedKafkaParameters": {"TopicName": unique_name("in")}})))
    assert (created["Name"], created["CurrentState"], created["DesiredState"]) == (name, "CREATING", "RUNNING")
    assert ok(run("stop-pipe", "--name", name))["CurrentState"] == "STOPPING"
    listed = ok(run("list-pipes", "--name-prefix", name, "--desired-state", "STOPPED"))["Pipes"]
    assert [(p["Name"], p["CurrentState"]) for p in listed] == [(name, "STOPPED")]
    assert ok(run("delete-pipe", "--name", name))["DesiredState"] == "DELETED"
    missing = run("describe-pipe", "--name", name)
    assert f"(NotFoundException) when calling the DescribePipe operation: Pipe {name} does not exist." in missing.stderr
