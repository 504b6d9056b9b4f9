"""Input transformers EventBridge cannot deliver, end to end: a worker (`eventpipes run`) dead-letters
the event with the reason, and the text form of objects reaches the target (issue 15)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from eventpipes.bus.put_events import EventBusClient
from eventpipes.records import Record
from eventpipes.testing import KafkaCluster, WorkerProcess, free_port, unique_name, wait_until

TOPOLOGY = """
EventBuses:
  - {{Name: {bus}, Partitions: 1}}
Rules:
  - Name: shapes
    EventBusName: {bus}
    EventPattern: {{detail-type: [Shapes]}}
    Targets:
      - Id: quoted-object
        Topic: {topic}.quoted
        InputTransformer:
          InputPathsMap: {{obj: $.detail.obj}}
          InputTemplate: '{{"p": "users/<obj>"}}'
        DeadLetterConfig: {{Arn: {dlq}}}
      - Id: text
        Topic: {topic}.text
        InputTransformer:
          InputPathsMap: {{obj: $.detail.obj, codes: $.detail.codes}}
          InputTemplate: 'Object: <obj> codes <codes>'
"""


def records_with(kafka: KafkaCluster, topic: str, predicate: Callable[[Record], bool]) -> list[Record]:
    def found() -> list[Record]:
        return [r for r in kafka.read_all(topic, timeout=5) if predicate(r)]

    return wait_until(found, timeout=60, interval=0.2, what=f"a matching record on {topic}")


def test_an_object_inside_quotes_is_dead_lettered_with_the_reason(kafka: KafkaCluster, tmp_path: Path) -> None:
    names = {"bus": unique_name("bus"), "topic": unique_name("target"), "dlq": unique_name("dlq")}
    topology = tmp_path / "shapes.yaml"
    topology.write_text(TOPOLOGY.format(**names))
    marker = unique_name("m")
    with WorkerProcess(str(topology), group=unique_name("group"), web_port=free_port(),
                       env={"KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap}) as worker:
        worker.wait_ready()
        detail: dict[str, Any] = {"obj": {"a": "x-1", "b": marker}, "codes": ["A", "B"]}
        with EventBusClient(kafka.settings) as client:
            result = client.put_events([{"Source": "tests", "DetailType": "Shapes", "Detail": json.dumps(detail)}],
                                       bus=names["bus"])
        event_id = result.entries[0].event_id
        assert event_id is not None

        [dead] = records_with(kafka, names["dlq"], lambda r: json.loads(r.value or b"")["id"] == event_id)
        info = {k: v.decode() for k, v in dead.headers}
        assert info["ERROR_CODE"] == "INVALID_JSON"
        assert info["ERROR_MESSAGE"] == (
            "cannot prepare the event for target 'quoted-object': ObjectInsideQuotes: placeholder <obj> stands inside "
            "quotes in a JSON InputTemplate and its value is an object; EventBridge delivers nothing to the target "
            "for such an event (put the placeholder outside the quotes to insert the value as JSON)")
        assert info["RETRY_ATTEMPTS"] == "0"
        assert json.loads(dead.value or b"")["detail"] == detail  # the original event, unchanged

        [text] = records_with(kafka, f"{names['topic']}.text", lambda r: marker.encode() in (r.value or b""))
        assert text.value == f"Object: {{a:x-1,b:{marker}}} codes [A,B]".encode()
        assert kafka.read_all(f"{names['topic']}.quoted", timeout=5) == []
