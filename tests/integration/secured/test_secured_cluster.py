"""eventpipes against a SASL_SSL cluster: every kind of client, and Kafka's own clients on the same topics.

PutEvents, tail, a worker routing a rule to a topic target, a pipe, an archive and a replay
(a detached job), the schema registry's store: each through the secured listener only, given
the client properties file that ``broker start --secure`` wrote. confluent-kafka (and kcat when
installed) read the same topics with that same file.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition

from eventpipes.bus.put_events import EventBusClient
from eventpipes.kafka.admin import Admin
from eventpipes.kafka.client_config import client_config
from eventpipes.kafka.properties import read_properties
from eventpipes.kafka.topics import bus_topic
from eventpipes.schemas.client import RegistryClient
from eventpipes.schemas.registry.server import BackgroundRegistry
from eventpipes.testing import WorkerProcess, free_port, unique_name, wait_until

from secured_support import Secured

TOPOLOGY = """
EventBuses: [{{Name: {bus}}}]
Archives:
  - {{ArchiveName: {archive}, EventBusName: {bus}}}
Rules:
  - Name: to-topic
    EventBusName: {bus}
    EventPattern: {{detail-type: [Order]}}
    Targets: [{{Id: routed, Topic: {routed}}}]
Pipes:
  - Name: {pipe}
    Source: {routed}
    SourceParameters:
      SelfManagedKafkaParameters: {{StartingPosition: TRIM_HORIZON, BatchSize: 10, MaximumBatchingWindowInSeconds: 1}}
    Target: topic:{piped}
"""


def cli(secured: Secured, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``eventpipes ARGS`` given the SASL_SSL address but not the properties file: ``--command-config`` must bring it
    (to the command, and to the processes it starts)."""
    env = {k: v for k, v in secured.env().items() if k != "KAFKA_CLIENT_PROPERTIES"}
    return subprocess.run([sys.executable, "-m", "eventpipes", *args], capture_output=True, text=True, timeout=timeout, env=env)


def confluent_read(properties: Path, topic: str, count: int, timeout: float = 30.0) -> list[bytes]:
    """Records read by librdkafka given nothing but the printed properties file."""
    config = {key: prop.value for key, prop in read_properties(properties).items()}
    consumer = Consumer({**config, "group.id": unique_name("confluent"), "enable.auto.commit": False})
    try:
        metadata = consumer.list_topics(topic, timeout=10)
        consumer.assign([TopicPartition(topic, p, 0) for p in metadata.topics[topic].partitions])
        found: list[bytes] = []
        deadline = time.monotonic() + timeout
        while len(found) < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                found.append(message.value())
        return found
    finally:
        consumer.close()


def test_put_events_tail_and_kafkas_own_clients_over_sasl_ssl(secured: Secured) -> None:
    bus = secured.cluster.create_bus()
    entries = json.dumps([{"Source": "tests", "DetailType": "Order", "Detail": json.dumps({"n": n}), "EventBusName": bus}
                          for n in range(3)])
    created = cli(secured, "put-events", "--bus", bus, "--entries", entries, "--command-config", str(secured.properties))
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["FailedEntryCount"] == 0

    tailed = cli(secured, "tail", "--bus", bus, "--from-beginning", "--max-events", "3", "--timeout", "30",
                 "--command-config", str(secured.properties))
    assert tailed.returncode == 0, tailed.stderr
    assert sorted(json.loads(line)["detail"]["n"] for line in tailed.stdout.splitlines()) == [0, 1, 2]

    values = confluent_read(secured.properties, bus_topic(bus), 3)
    assert sorted(json.loads(v)["detail"]["n"] for v in values) == [0, 1, 2]
    if shutil.which("kcat"):  # Debian's kcat, installed by .ci/run; the same file, no other setting
        read = subprocess.run(["kcat", "-F", str(secured.properties), "-C", "-t", bus_topic(bus), "-o", "beginning",
                               "-e", "-q", "-c", "3"], capture_output=True, text=True, timeout=60)
        assert read.returncode == 0, read.stderr
        assert sorted(json.loads(line)["detail"]["n"] for line in read.stdout.splitlines()) == [0, 1, 2]


def test_a_worker_routes_pipes_archives_and_replays_over_sasl_ssl(secured: Secured, tmp_path: Path) -> None:
    names = {"bus": unique_name("bus"), "archive": unique_name("arch"), "routed": unique_name("routed"),
             "piped": unique_name("piped"), "pipe": unique_name("pipe")}
    topology = tmp_path / "topology.yaml"
    topology.write_text(TOPOLOGY.format(**names))
    secured.cluster.create_topic(names["piped"])
    env = {**secured.cluster.env(), "EVENTPIPES_STATE_DIR": str(tmp_path / "state")}
    with WorkerProcess(str(topology), group=unique_name("group"), web_port=free_port(), env=env) as worker:
        worker.wait_ready()
        began = int(time.time()) - 1
        with EventBusClient(secured.settings) as client:
            entries = [{"Source": "tests", "DetailType": "Order", "Detail": json.dumps({"n": n})} for n in range(5)]
            assert client.put_events(entries, bus=names["bus"]).failed_entry_count == 0
        wait_until(lambda: len(secured.cluster.read_all(names["routed"], timeout=5)) >= 5, timeout=60, what="5 routed")
        wait_until(lambda: len(secured.cluster.read_all(names["piped"], timeout=5)) >= 5, timeout=60, what="5 piped")

        time.sleep(1.1)  # EventEndTime has a one-second grain: end after the last put event's time
        replayed = cli(secured, "replay", "start", "--name", unique_name("replay"), "--archive", names["archive"],
                       "--start", str(began), "--end", str(int(time.time())), "--destination", names["bus"], "--detach",
                       "--command-config", str(secured.properties))
        assert replayed.returncode == 0, replayed.stderr

        def replayed_events() -> list[dict[str, object]]:
            events = [json.loads(r.value or b"{}") for r in secured.cluster.read_all(names["routed"], timeout=5)]
            return [e for e in events if e.get("replay-name")]

        wait_until(lambda: len(replayed_events()) >= 5, timeout=90, what="5 replayed events routed again")
        assert worker.process.poll() is None, worker.log()[-3000:]


def test_the_schema_registry_stores_its_schemas_over_sasl_ssl(secured: Secured) -> None:
    topic = unique_name("schemas")
    schema = json.dumps({"type": "record", "name": "Order", "fields": [{"name": "id", "type": "string"}]})
    with BackgroundRegistry(secured.cluster.client, topic) as url, RegistryClient(url, user_info=None) as client:
        schema_id = client.register("orders-value", schema)
    with BackgroundRegistry(secured.cluster.client, topic) as url, RegistryClient(url, user_info=None) as client:
        assert client.register("orders-value", schema) == schema_id  # read back from the secured topic
    assert confluent_read(secured.properties, topic, 1)


def test_mtls_with_the_client_certificate_and_refused_without(secured: Secured, tmp_path: Path) -> None:
    mtls = secured.broker.client_settings(mtls=True)
    assert mtls.kafka_client_properties is not None
    bus = secured.cluster.create_bus()
    env = {**secured.env(), "KAFKA_BOOTSTRAP_SERVERS": str(mtls.kafka_bootstrap_servers),
           "KAFKA_CLIENT_PROPERTIES": str(mtls.kafka_client_properties)}
    entries = json.dumps([{"Source": "tests", "DetailType": "Order", "Detail": "{}", "EventBusName": bus}])
    put = subprocess.run([sys.executable, "-m", "eventpipes", "put-events", "--bus", bus, "--entries", entries],
                         capture_output=True, text=True, timeout=60, env=env)
    assert put.returncode == 0 and json.loads(put.stdout)["FailedEntryCount"] == 0, put.stderr
    assert len(confluent_read(mtls.kafka_client_properties, bus_topic(bus), 1)) == 1

    props = {key: prop.value for key, prop in read_properties(mtls.kafka_client_properties).items()}
    without = tmp_path / "no-cert.properties"
    without.write_text("".join(f"{k}={v}\n" for k, v in props.items() if not k.startswith(("ssl.certificate", "ssl.key"))))
    refused = subprocess.run([sys.executable, "-m", "eventpipes", "tail", "--bus", bus, "--timeout", "1"],
                             capture_output=True, text=True, timeout=60,
                             env={**env, "KAFKA_CLIENT_PROPERTIES": str(without), "EVENTPIPES_KAFKA_TIMEOUT": "5"})
    assert refused.returncode == 1
    assert refused.stderr.startswith("TlsHandshakeFailed: ") and "client certificate" in refused.stderr, refused.stderr


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "PLAIN"])
def test_the_other_mechanisms_the_broker_enables(secured: Secured, mechanism: str) -> None:
    settings = secured.settings.model_copy(update={"kafka_sasl_mechanism": mechanism})  # as KAFKA_SASL_MECHANISM would
    with Admin(client_config(settings), timeout_seconds=10) as admin:
        topic = secured.cluster.create_topic()
        assert topic in admin.topics()


def test_the_aws_cli_verbs_over_sasl_ssl(secured: Secured) -> None:
    """``create-event-bus`` ... ``delete-event-bus`` given only ``--command-config``: the store is read and written over SASL_SSL."""
    bus = unique_name("bus")
    env = {**{k: v for k, v in secured.env().items() if k != "KAFKA_CLIENT_PROPERTIES"},
           "EVENTPIPES_CONTROL_TOPIC": unique_name("control")}

    def verb(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "eventpipes", *args, "--command-config", str(secured.properties)],
                              capture_output=True, text=True, timeout=60, env=env)

    created = verb("create-event-bus", "--name", bus)
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["EventBusArn"].endswith(f":event-bus/{bus}")
    assert verb("put-rule", "--name", "r", "--event-bus-name", bus, "--event-pattern", '{"source": ["a"]}').returncode == 0
    described = verb("describe-rule", "--name", "r", "--event-bus-name", bus)
    assert described.returncode == 0 and json.loads(described.stdout)["EventPattern"] == '{"source": ["a"]}', described.stderr
    missing = verb("describe-rule", "--name", "other", "--event-bus-name", bus)
    assert missing.returncode == 2 and "(ResourceNotFoundException) when calling the DescribeRule operation" in missing.stderr
    assert verb("delete-rule", "--name", "r", "--event-bus-name", bus).returncode == 0
    assert bus_topic(bus) in secured.cluster.admin.topics()  # made over SASL_SSL by create-event-bus
    assert verb("delete-event-bus", "--name", bus).returncode == 0
    assert bus_topic(bus) not in secured.cluster.admin.topics()  # and deleted with the bus
    secured.cluster.admin.delete_topics([env["EVENTPIPES_CONTROL_TOPIC"]])
