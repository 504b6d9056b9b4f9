"""Connection secrets never leave the process: not in dead letters, not in logs, not to another host.

API destinations whose endpoints answer with redirects: a loop (302 to itself) and a 307 to
another host (127.0.0.2, a second loopback address). EventBridge follows neither; a 3xx is a
failed invocation that is not retried, and the dead letter says so without any secret.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from eventpipes.bus.put_events import EventBusClient
from eventpipes.testing import HttpReceiver, KafkaCluster, ReceivedRequest, WorkerProcess, free_port, unique_name, wait_until

SECRETS = ("K-SECRET-1", "H-SECRET-2", "Q-SECRET-3", "P-SECRET-4", "B-SECRET-5")

TOPOLOGY = """
EventBuses:
  - {{Name: {bus}, Partitions: 1}}
Connections:
  - Name: key
    AuthorizationType: API_KEY
    AuthParameters:
      ApiKeyAuthParameters: {{ApiKeyName: x-api-key, ApiKeyValue: K-SECRET-1}}
      InvocationHttpParameters:
        HeaderParameters: [{{Key: x-secret, Value: H-SECRET-2, IsValueSecret: true}}]
        QueryStringParameters: [{{Key: token, Value: Q-SECRET-3, IsValueSecret: true}}]
  - Name: basic
    AuthorizationType: BASIC
    AuthParameters:
      BasicAuthParameters: {{Username: user, Password: P-SECRET-4}}
      InvocationHttpParameters:
        BodyParameters: [{{Key: b, Value: B-SECRET-5, IsValueSecret: true}}]
ApiDestinations:
  - {{Name: loop, ConnectionName: key, InvocationEndpoint: "{http}/loop", HttpMethod: POST}}
  - {{Name: away, ConnectionName: key, InvocationEndpoint: "{http}/away", HttpMethod: POST}}
  - {{Name: basic-loop, ConnectionName: basic, InvocationEndpoint: "{http}/loop", HttpMethod: POST}}
Rules:
  - Name: hooks
    EventBusName: {bus}
    EventPattern: {{source: [tests]}}
    Targets:
      - {{Id: loop, ApiDestination: loop, DeadLetterConfig: {{Arn: {dlq}}}}}
      - {{Id: away, ApiDestination: away, DeadLetterConfig: {{Arn: {dlq}}}}}
      - {{Id: basic, ApiDestination: basic-loop, DeadLetterConfig: {{Arn: {dlq}}}}}
"""


@pytest.fixture
def other_host() -> Iterator[HttpReceiver]:
    receiver = HttpReceiver(host="127.0.0.2")
    yield receiver
    receiver.close()


def test_redirects_are_not_followed_and_no_secret_reaches_a_dead_letter_or_the_log(
        kafka: KafkaCluster, tmp_path: Any, other_host: HttpReceiver) -> None:
    def respond(request: ReceivedRequest) -> tuple[Any, ...]:
        if request.path.startswith("/away"):
            return 307, b"", {"Location": f"{other_host.url}/steal"}
        return 302, b"", {"Location": request.path}

    receiver = HttpReceiver(respond)
    names = {"bus": unique_name("bus"), "dlq": unique_name("dlq"), "http": receiver.url}
    topology = tmp_path / "topology.yaml"
    topology.write_text(TOPOLOGY.format(**names))
    env = {"KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap, "EVENTPIPES_RETRY_BASE_SECONDS": "0.05"}
    worker = WorkerProcess(str(topology), group=unique_name("group"), web_port=free_port(), env=env).wait_ready()
    try:
        with EventBusClient(kafka.settings) as client:
            result = client.put_events([{"Source": "tests", "DetailType": "t", "Detail": json.dumps({"n": 1})}], bus=names["bus"])
        assert result.failed_entry_count == 0
        def three_dead_letters() -> list[Any]:
            found = kafka.read_all(names["dlq"], timeout=5)
            return found if len(found) >= 3 else []

        dead = wait_until(three_dead_letters, timeout=60, what="three dead letters")
    finally:
        worker.stop()
        receiver.close()
    log = worker.log()
    for record in dead:
        headers = {k: v.decode() for k, v in record.headers}
        assert headers["RETRY_ATTEMPTS"] == "0", headers  # a 3xx is not retried
        assert "redirect" in headers["ERROR_MESSAGE"], headers
        for secret in SECRETS:
            assert all(secret not in value for value in headers.values()), (secret, headers)
    for secret in SECRETS:
        assert secret not in log, secret
    assert other_host.received() == [], "a credential was sent to a host the destination did not name"
    assert len(receiver.received("/loop")) == 2 and len(receiver.received("/away")) == 1  # one request each, no follow-up
