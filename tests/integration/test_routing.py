"""Rules and targets end to end: a worker process (`eventpipes run`) against the real broker.

One worker runs a topology that has every target kind; each test puts its own events
(distinguished by detail-type) and checks what reached the target, the dead-letter
topic and the metrics.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eventpipes.bus.put_events import EventBusClient
from eventpipes.kafka.offsets import committed_offsets, end_offsets
from eventpipes.kafka.topics import bus_topic, delivery_topic, invalid_events_topic
from eventpipes.records import Record
from eventpipes.testing import HttpReceiver, KafkaCluster, ReceivedRequest, WorkerProcess, free_port, metric_value, unique_name, wait_until

SUPPORT = Path(__file__).parent / "support"

TOPOLOGY = """
EventBuses:
  - {{Name: {bus}, Partitions: 2}}
  - {{Name: {other}, Partitions: 1}}
Connections:
  - Name: key-auth
    AuthorizationType: API_KEY
    AuthParameters: {{ApiKeyAuthParameters: {{ApiKeyName: x-api-key, ApiKeyValue: s3cret}}}}
  - Name: basic-auth
    AuthorizationType: BASIC
    AuthParameters: {{BasicAuthParameters: {{Username: user, Password: pass}}}}
  - Name: oauth
    AuthorizationType: OAUTH_CLIENT_CREDENTIALS
    AuthParameters:
      OAuthParameters:
        AuthorizationEndpoint: {http}/oauth/token
        HttpMethod: POST
        ClientParameters: {{ClientID: client, ClientSecret: secret}}
ApiDestinations:
  - {{Name: hook, ConnectionName: key-auth, InvocationEndpoint: "{http}/hook/*", HttpMethod: POST, InvocationRateLimitPerSecond: 100}}
  - {{Name: basic, ConnectionName: basic-auth, InvocationEndpoint: "{http}/basic", HttpMethod: PUT}}
  - {{Name: oauth, ConnectionName: oauth, InvocationEndpoint: "{http}/oauth/api", HttpMethod: POST}}
Rules:
  - Name: to-topic
    EventBusName: {bus}
    EventPattern: {{detail-type: [ToTopic], detail: {{amount: [{{numeric: [">", 100]}}]}}}}
    Targets:
      - Id: transformed
        Topic: {topic}
        PartitionKeyPath: $.detail.customer
        InputTransformer:
          InputPathsMap: {{customer: $.detail.customer, amount: $.detail.amount}}
          InputTemplate: '{{"who": <customer>, "amount": <amount>, "rule": <aws.events.rule-name>}}'
      - {{Id: whole, Topic: {topic}.whole}}
  - Name: disabled
    EventBusName: {bus}
    State: DISABLED
    EventPattern: {{detail-type: [ToTopic]}}
    Targets: [{{Id: never, Topic: {topic}.never}}]
  - Name: cross-bus
    EventBusName: {bus}
    EventPattern: {{detail-type: [CrossBus]}}
    Targets: [{{Id: forward, EventBus: {other}}}]
  - Name: on-other
    EventBusName: {other}
    EventPattern: {{detail-type: [CrossBus]}}
    Targets: [{{Id: arrived, Topic: {topic}.other}}, {{Id: back, EventBus: {bus}, DeadLetterConfig: {{Arn: {dlq}}}}}]
  - Name: http
    EventBusName: {bus}
    EventPattern: {{detail-type: [Http]}}
    Targets:
      - Id: hook
        ApiDestination: hook
        HttpParameters: {{PathParameterValues: [one], HeaderParameters: {{x-extra: yes}}, QueryStringParameters: {{q: "1"}}}}
        RetryPolicy: {{MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 60}}
        DeadLetterConfig: {{Arn: {dlq}}}
      - {{Id: basic, ApiDestination: basic, InputPath: $.detail}}
      - {{Id: oauth, ApiDestination: oauth, Input: '{{"fixed": true}}'}}
  - Name: function
    EventBusName: {bus}
    EventPattern: {{detail-type: [Function]}}
    Targets:
      - {{Id: sync, Function: "recording_target:record"}}
      - {{Id: async, Function: "recording_target:arecord", InputPath: $.detail}}
  - Name: refused
    EventBusName: {bus}
    EventPattern: {{detail-type: [Refused]}}
    Targets: [{{Id: refuse, Function: "recording_target:refuse", DeadLetterConfig: {{Arn: {dlq}}}}}]
  - Name: flaky
    EventBusName: {bus}
    EventPattern: {{detail-type: [Flaky]}}
    Targets: [{{Id: flaky, Function: "recording_target:flaky", RetryPolicy: {{MaximumRetryAttempts: 5}}}}]
  - Name: no-dlq
    EventBusName: {bus}
    EventPattern: {{detail-type: [NoDlq]}}
    Targets: [{{Id: refuse, Function: "recording_target:refuse"}}]
"""


def respond(request: ReceivedRequest) -> tuple[int, bytes]:
    if request.path == "/oauth/token":
        return 200, json.dumps({"access_token": "tok-1", "expires_in": 3600}).encode()
    body = json.loads(request.body or b"{}")
    behaviour = body.get("detail", {}).get("behaviour") if isinstance(body, dict) else None
    if behaviour == "bad-request":
        return 400, b'{"error": "no"}'
    if behaviour == "always-500":
        return 500, b'{"error": "down"}'
    return 200, b"{}"


@pytest.fixture(scope="module")
def world(kafka: KafkaCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("routing")
    receiver = HttpReceiver(respond)
    names = {"bus": unique_name("bus"), "other": unique_name("bus"), "topic": unique_name("target"), "dlq": unique_name("dlq"), "http": receiver.url}
    topology = folder / "topology.yaml"
    topology.write_text(TOPOLOGY.format(**names))
    record_file = folder / "recorded.jsonl"
    record_file.touch()
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap,
        "PYTHONPATH": f"{SUPPORT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        "EVENTPIPES_TEST_RECORD_FILE": str(record_file),
        "EVENTPIPES_RETRY_BASE_SECONDS": "0.05",
    }
    group = unique_name("group")
    worker = WorkerProcess(str(topology), group=group, web_port=free_port(), env=env).wait_ready()
    try:
        yield {**names, "receiver": receiver, "worker": worker, "records": record_file, "topology": topology, "group": group}
    finally:
        worker.stop()
        receiver.close()
        print(worker.log()[-5000:])


def put(kafka: KafkaCluster, bus: str, detail_type: str, detail: dict[str, Any]) -> str:
    with EventBusClient(kafka.settings) as client:
        result = client.put_events([{"Source": "tests", "DetailType": detail_type, "Detail": json.dumps(detail)}], bus=bus)
    assert result.failed_entry_count == 0
    return str(result.entries[0].event_id)


def records_with(kafka: KafkaCluster, topic: str, predicate: Any, count: int = 1, timeout: float = 60) -> list[Record]:
    def found() -> list[Record]:
        hits = [r for r in kafka.read_all(topic, timeout=5) if predicate(r)]
        return hits if len(hits) >= count else []

    return wait_until(found, timeout=timeout, interval=0.2, what=f"{count} matching record(s) on {topic}")


def value(record: Record) -> Any:
    return json.loads(record.value or b"")


def headers(record: Record) -> dict[str, str]:
    return {k: v.decode() for k, v in record.headers}


def recorded(world: dict[str, Any]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(world["records"]).read_text().splitlines() if line.strip()]


def test_a_topic_target_gets_the_transformed_event_keyed_by_its_path(kafka: KafkaCluster, world: dict[str, Any]) -> None:
    customer = unique_name("customer")
    put(kafka, world["bus"], "ToTopic", {"customer": customer, "amount": 5})  # below the numeric range
    event_id = put(kafka, world["bus"], "ToTopic", {"customer": customer, "amount": 250})

    [record] = records_with(kafka, world["topic"], lambda r: value(r)["who"] == customer)
    assert value(record) == {"who": customer, "amount": 250, "rule": "to-topic"}
    assert record.key == customer.encode()
    [whole] = records_with(kafka, f"{world['topic']}.whole", lambda r: value(r)["id"] == event_id)
    assert value(whole)["detail"] == {"customer": customer, "amount": 250}
    assert len([r for r in kafka.read_all(world["topic"]) if value(r)["who"] == customer]) == 1


def test_a_disabled_rule_delivers_nothing(kafka: KafkaCluster, world: dict[str, Any]) -> None:
    customer = unique_name("customer")
    put(kafka, world["bus"], "ToTopic", {"customer": customer, "amount": 500})
    put_end = end_offsets(kafka.client, bus_topic(world["bus"]))

    # The router commits a batch only after Kafka acknowledged every record it routed from
    # it: once the group's offsets are past the events, whatever the router sent to the
    # disabled rule's delivery topic is already there, so reading that topic to its end
    # cannot miss a record still on its way (waiting for the enabled rule's record could).
    def routed_past_the_events() -> bool:
        committed = committed_offsets(kafka.client, world["group"], bus_topic(world["bus"]))
        return all((committed.get(p) or 0) >= end for p, end in put_end.items())

    wait_until(routed_past_the_events, timeout=60, interval=0.2, what="the router committing past the events")
    records_with(kafka, world["topic"], lambda r: value(r)["who"] == customer)  # the enabled rule did run
    disabled = delivery_topic(world["bus"], "disabled", "never")
    assert kafka.admin.topic_exists(disabled)
    assert [r for r in kafka.read_all(disabled) if customer.encode() in (r.value or b"")] == []
    assert [r for r in kafka.read_all(f"{world['topic']}.never") if customer.encode() in (r.value or b"")] == []


def test_a_bus_target_routes_across_buses_and_a_loop_is_dead_lettered(kafka: KafkaCluster, world: dict[str, Any]) -> None:
    event_id = put(kafka, world["bus"], "CrossBus", {"n": 1})

    [arrived] = records_with(kafka, f"{world['topic']}.other", lambda r: value(r)["id"] == event_id)
    assert value(arrived)["detail"] == {"n": 1}
    [looped] = records_with(kafka, world["dlq"], lambda r: value(r)["id"] == event_id)
    assert headers(looped)["ERROR_CODE"] == "INVALID_PARAMETER"
    assert "would loop" in headers(looped)["ERROR_MESSAGE"]
    assert headers(looped)["RETRY_ATTEMPTS"] == "0"


def test_http_targets_authenticate_and_carry_parameters(kafka: KafkaCluster, world: dict[str, Any]) -> None:
    marker = unique_name("m")
    event_id = put(kafka, world["bus"], "Http", {"marker": marker})
    receiver: HttpReceiver = world["receiver"]

    wait_until(lambda: [r for r in receiver.received("/hook/one") if marker.encode() in r.body], what="hook request")
    wait_until(lambda: [r for r in receiver.received("/basic") if marker.encode() in r.body], what="basic request")
    [hook] = [r for r in receiver.received("/hook/one") if marker.encode() in r.body]
    assert hook.method == "POST" and hook.path == "/hook/one?q=1"
    assert hook.headers["x-api-key"] == "s3cret" and hook.headers["x-extra"] == "yes"
    assert json.loads(hook.body)["id"] == event_id
    [basic] = [r for r in receiver.received("/basic") if marker.encode() in r.body]
    assert basic.method == "PUT"
    assert basic.headers["Authorization"] == "Basic " + base64.b64encode(b"user:pass").decode()
    assert json.loads(basic.body) == {"marker": marker}  # InputPath $.detail
    wait_until(lambda: receiver.received("/oauth/api"), what="oauth request")
    assert receiver.received("/oauth/api")[-1].headers["Authorization"] == "Bearer tok-1"
    assert receiver.received("/oauth/token")[0].headers["Authorization"] == "Basic " + base64.b64encode(b"client:secret").decode()


def test_http_4xx_goes_straight_to_the_dead_letter_topic(kafka: KafkaCluster, world: dict[str, Any]) -> None:
    event_id = put(kafka, world["bus"], "Http", {"behaviour": "bad-request"})

    [dead] = records_with(kafka, world["dlq"], lambda r: value(r)["id"] == event_id)
    info = headers(dead)
    assert info["ERROR_CODE"] == "ERROR_FROM_TARGET" and "400" in info["ERROR_MESSAGE"]
    assert info["RETRY_ATTEMPTS"] == "0" and "EXHAUSTED_RETRY_CONDITION" not in info
    assert info["RULE_ARN"].endswith(f":rule/{world['bus']}/http")
    assert value(dead)["detail"] == {"behaviour": "bad-request"}  # the original event, unchanged
    assert len([r for r in world["receiver"].received("/hook/one") if b"bad-request" in r.body]) == 1


def test_http_5xx_is_retried_until_the_policy_gives_up(kafka: KafkaCluster, world: dict[str, Any]) -> None:
    event_id = put(kafka, world["bus"], "Http", {"behaviour": "always-500"})

    [dead] = records_with(kafka, world["dlq"], lambda r: value(r)["id"] == event_id)
    info = headers(dead)
    assert (info["EXHAUSTED_RETRY_CONDITION"], info["RETRY_ATTEMPTS"]) == ("MaximumRetryAttempts", "2")
    assert len([r for r in world["receiver"].received("/hook/one") if event_id.encode() in r.body]) == 3


def test_function_targets_sync_and_async(kafka: KafkaCluster, world: dict[str, Any]) -> None:
    marker = unique_name("m")
    event_id = put(kafka, world["bus"], "Function", {"marker": marker})

    def both() -> list[dict[str, Any]]:
        mine = [r for r in recorded(world) if marker in json.dumps(r["payload"])]
        return mine if len(mine) == 2 else []

    by_kind = {r["kind"]: r["payload"] for r in wait_until(both, what="both function calls")}
    assert by_kind["sync"]["id"] == event_id
    assert by_kind["async"] == {"marker": marker}


def test_a_declared_non_retryable_error_is_dead_lettered_at_once(kafka: KafkaCluster, world: dict[str, Any]) -> None:
    event_id = put(kafka, world["bus"], "Refused", {})
    [dead] = records_with(kafka, world["dlq"], lambda r: value(r)["id"] == event_id)
    assert headers(dead)["RETRY_ATTEMPTS"] == "0"
    assert "never be accepted" in headers(dead)["ERROR_MESSAGE"]


def test_a_failing_function_is_retried_then_succeeds(kafka: KafkaCluster, world: dict[str, Any]) -> None:
    event_id = put(kafka, world["bus"], "Flaky", {})
    wait_until(lambda: [r for r in recorded(world) if r["kind"] == "flaky" and r["payload"]["id"] == event_id], what="flaky delivery")
    worker: WorkerProcess = world["worker"]
    labels = {"bus": world["bus"], "rule": "flaky", "target": "flaky"}
    wait_until(lambda: metric_value(worker.metrics(), "eventpipes_target_delivered_total", **labels) >= 1, what="delivered metric")
    assert metric_value(worker.metrics(), "eventpipes_target_retried_total", **labels) == 2


def test_without_a_dead_letter_topic_a_failure_is_counted_and_logged(kafka: KafkaCluster, world: dict[str, Any]) -> None:
    event_id = put(kafka, world["bus"], "NoDlq", {})
    worker: WorkerProcess = world["worker"]
    labels = {"bus": world["bus"], "rule": "no-dlq", "target": "refuse"}
    wait_until(lambda: metric_value(worker.metrics(), "eventpipes_target_failed_total", **labels) >= 1, what="failed metric")
    assert metric_value(worker.metrics(), "eventpipes_target_dead_lettered_total", **labels) == 0
    assert event_id in worker.log()


def test_records_that_are_not_events_are_set_aside(kafka: KafkaCluster, world: dict[str, Any]) -> None:
    garbage = unique_name("garbage").encode()
    kafka.seed_topic(bus_topic(world["bus"]), [garbage])
    [aside] = records_with(kafka, invalid_events_topic(world["bus"]), lambda r: r.value == garbage)
    assert "not valid JSON" in headers(aside)["eventpipes-error"]


def test_metrics_count_matches_per_rule(kafka: KafkaCluster, world: dict[str, Any]) -> None:
    worker: WorkerProcess = world["worker"]
    before = metric_value(worker.metrics(), "eventpipes_rule_matched_total", bus=world["bus"], rule="cross-bus")
    put(kafka, world["bus"], "CrossBus", {"n": 2})
    wait_until(lambda: metric_value(worker.metrics(), "eventpipes_rule_matched_total", bus=world["bus"], rule="cross-bus") == before + 1, what="matched metric")
    assert "eventpipes_target_delivery_latency_seconds_bucket" in worker.metrics()


def test_status_reports_counters_from_the_worker_and_lag_from_kafka(kafka: KafkaCluster, world: dict[str, Any]) -> None:
    import subprocess
    import sys

    put(kafka, world["bus"], "Function", {"marker": unique_name("m")})
    worker: WorkerProcess = world["worker"]
    labels = {"bus": world["bus"], "rule": "function", "target": "sync"}
    wait_until(lambda: metric_value(worker.metrics(), "eventpipes_target_delivered_total", **labels) >= 1, what="a function delivery")

    def report() -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, "-m", "eventpipes", "status", str(world["topology"]), "--group", world["group"], "--web-port", str(worker.web_port)],
            capture_output=True, text=True, timeout=60, env={**os.environ, "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap},
        )
        assert done.returncode == 0, done.stderr
        return dict(json.loads(done.stdout))

    body = wait_until(lambda: (r := report())["Rules"][5]["Targets"][0]["Lag"] == 0 and r, what="function target caught up")
    assert body["Workers"] == [{"MetricsUrl": f"http://127.0.0.1:{worker.web_port}/metrics", "Reachable": True}]
    function_rule = body["Rules"][5]
    assert (function_rule["Name"], function_rule["State"]) == ("function", "ENABLED")
    assert function_rule["SinceWorkerStart"]["Matched"] >= 1
    target = function_rule["Targets"][0]
    assert target["SinceWorkerStart"]["Delivered"] >= 1 and target["Kind"] == "Function"
    # What Kafka knows, kept across restarts: the group's position on the delivery topic, caught up.
    assert target["Kafka"]["Delivery"]["Committed"] == target["Kafka"]["Delivery"]["End"] >= 1
    assert body["Rules"][1]["State"] == "DISABLED" and body["Rules"][1]["SinceWorkerStart"]["Matched"] == 0
    assert {b["Name"] for b in body["EventBuses"]} == {world["bus"], world["other"]}
