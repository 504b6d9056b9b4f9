"""Retries that hold nothing back: a failing event waits on the target's retry topic.

EventBridge retries each failed event on its own and keeps delivering the others; a
rule target here does the same through ``eventpipes.retry.<bus>.<rule>.<target>``.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from eventpipes.bus.put_events import EventBusClient
from eventpipes.kafka.topics import delivery_topic, retry_topic
from eventpipes.status import status
from eventpipes.topology import load_file
from eventpipes.testing import HttpReceiver, KafkaCluster, ReceivedRequest, WorkerProcess, free_port, unique_name, wait_until

TOPOLOGY = """
EventBuses:
  - {{Name: {bus}, Partitions: 1}}
Connections:
  - {{Name: open, AuthorizationType: API_KEY, AuthParameters: {{ApiKeyAuthParameters: {{ApiKeyName: k, ApiKeyValue: v}}}}}}
ApiDestinations:
  - {{Name: hook, ConnectionName: open, InvocationEndpoint: "{http}/hook", HttpMethod: POST, InvocationRateLimitPerSecond: 10000}}
Rules:
  - Name: all
    EventBusName: {bus}
    EventPattern: {{source: [tests]}}
    Targets:
      - Id: hook
        ApiDestination: hook
        InputPath: $.detail
        RetryPolicy: {retry}
        DeadLetterConfig: {{Arn: {dlq}}}
"""


def start(kafka: KafkaCluster, tmp_path: Path, receiver: HttpReceiver, retry: str, group: str, names: dict[str, str]) -> WorkerProcess:
    topology = tmp_path / "topology.yaml"
    topology.write_text(TOPOLOGY.format(http=receiver.url, retry=retry, **names))
    env = {"KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap, "EVENTPIPES_RETRY_BASE_SECONDS": "1"}
    return WorkerProcess(str(topology), group=group, web_port=free_port(), env=env).wait_ready()


def put(kafka: KafkaCluster, bus: str, details: list[dict[str, Any]]) -> None:
    with EventBusClient(kafka.settings) as client:
        for start_at in range(0, len(details), 10):
            entries = [{"Source": "tests", "DetailType": "t", "Detail": json.dumps(d)} for d in details[start_at:start_at + 10]]
            assert client.put_events(entries, bus=bus).failed_entry_count == 0



def test_one_event_failing_forever_holds_back_none_of_the_others(kafka: KafkaCluster, tmp_path: Path) -> None:
    delivered: list[float] = []
    lock = threading.Lock()

    def respond(request: ReceivedRequest) -> tuple[int, bytes]:
        if json.loads(request.body).get("poison"):
            return 500, b"{}"
        with lock:
            delivered.append(time.time())
        return 200, b"{}"

    receiver = HttpReceiver(respond)
    names = {"bus": unique_name("bus"), "dlq": unique_name("dlq")}
    # The poison is retried until it is a minute old (EventBridge's smallest MaximumEventAgeInSeconds);
    # held behind it, as a blocking retry would hold them, the others would arrive only after its dead letter.
    group = unique_name("group")
    worker = start(kafka, tmp_path, receiver, "{MaximumEventAgeInSeconds: 60}", group, names)
    try:
        put(kafka, names["bus"], [{"poison": True}])
        wait_until(lambda: receiver.received("/hook"), timeout=30, what="the poison's first attempt")
        put(kafka, names["bus"], [{"n": n} for n in range(1000)])  # 100 calls: many batches behind the poison's
        wait_until(lambda: len(delivered) >= 1000, timeout=90, what="1,000 good events delivered")
        dead = wait_until(lambda: kafka.read_all(names["dlq"], timeout=5), timeout=120, what="the poison dead-lettered")
    finally:
        worker.stop()
        receiver.close()
    assert [json.loads(r.value or b"")["detail"] for r in dead] == [{"poison": True}]
    headers = {k: v.decode() for k, v in dead[0].headers}
    assert headers["EXHAUSTED_RETRY_CONDITION"] == "MaximumEventAgeInSeconds" and int(headers["RETRY_ATTEMPTS"]) >= 1
    assert max(delivered) * 1000 < dead[0].timestamp_ms, "a good event waited for the poison's retries to run out"
    # With no worker left, status still tells what happened, from Kafka alone.
    report = status(load_file(tmp_path / "topology.yaml"), kafka=kafka.client, group=group, metrics_urls=[])
    target = report["Rules"][0]["Targets"][0]
    assert target["Kafka"]["Delivery"] == {"Topic": delivery_topic(names["bus"], "all", "hook"), "Committed": 1001, "End": 1001, "Lag": 0}
    retries = target["Kafka"]["Retry"]
    # One record per retry; at-least-once may add a copy (seen once: 9 records for 7 retries).
    assert retries["Committed"] == retries["End"] >= int(headers["RETRY_ATTEMPTS"])
    assert target["Kafka"]["DeadLetter"] == {"Topic": names["dlq"], "Records": 1}
    assert target["SinceWorkerStart"] is None


def test_a_worker_killed_while_events_wait_for_retry_loses_none_of_them(kafka: KafkaCluster, tmp_path: Path) -> None:
    down = threading.Event()
    down.set()
    answered_ok: list[int] = []

    def respond(request: ReceivedRequest) -> tuple[int, bytes]:
        if down.is_set():
            return 503, b"{}"
        answered_ok.append(json.loads(request.body)["n"])
        return 200, b"{}"

    receiver = HttpReceiver(respond)
    names = {"bus": unique_name("bus"), "dlq": unique_name("dlq")}
    group = unique_name("group")
    worker = start(kafka, tmp_path, receiver, "{}", group, names)
    try:
        put(kafka, names["bus"], [{"n": n} for n in range(50)])
        waiting = retry_topic(names["bus"], "all", "hook")
        wait_until(lambda: len(kafka.read_all(waiting, timeout=5)) >= 50, timeout=60, what="50 events waiting for retry")
        worker.kill()
        down.clear()  # the target is back; a new worker must find every waiting event
        worker = start(kafka, tmp_path, receiver, "{}", group, names)
        wait_until(lambda: set(answered_ok) >= set(range(50)), timeout=90, what="all 50 events delivered after the restart")
    finally:
        worker.stop()
        receiver.close()
    assert kafka.read_all(names["dlq"], timeout=2) == []
