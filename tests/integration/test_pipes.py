"""Pipes end to end on the real broker: sources, filter, enrichment, targets, order, failures, positions.

Most tests run the runner in-process (a thread with its own event loop) for speed; the
CLI lifecycle and crash tests run ``eventpipes pipe start`` as a subprocess with a
hard-kill fallback.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

import test_pipe_support as support
from eventpipes.kafka.offsets import committed_offsets
from eventpipes.kafka.topics import bus_topic
from eventpipes.bus.put_events import AsyncPutEvents
from eventpipes.pipes.runner import PipeRunner
from eventpipes.records import Record
from eventpipes.testing import HttpReceiver, KafkaCluster, ReceivedRequest, unique_name, wait_until
from eventpipes.topology import load_text


def pipe_of(yaml_text: str) -> Any:
    return load_text(yaml_text).pipes[0]


@contextmanager
def running(kafka: KafkaCluster, yaml_text: str) -> Iterator[PipeRunner]:
    """Run one pipe in a thread; stop it (and wait) on exit."""
    put_events = AsyncPutEvents(kafka.settings)
    runner = PipeRunner(pipe_of(yaml_text), kafka.settings, report_status=False, put_events=put_events)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    errors: list[BaseException] = []

    def main() -> None:
        try:
            loop.run_until_complete(runner.run(stop))
        except BaseException as exc:  # surfaced to the test below
            errors.append(exc)

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    try:
        yield runner
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=30)
        put_events.close()
        assert not thread.is_alive(), "the pipe did not stop"
        assert not errors, errors


def settle(kafka: KafkaCluster, group: str, topic: str, count: int) -> None:
    """Wait until the group committed every one of ``count`` records of ``topic``."""
    wait_until(lambda: sum(v or 0 for v in committed_offsets(kafka.client, group, topic).values()) == count,
               timeout=30, what=f"{group} committed {count} records")


def by_key(records: list[Record]) -> dict[str, list[int]]:
    seen: dict[str, list[int]] = {}
    for record in records:
        value = json.loads(record.value or b"{}")
        seen.setdefault(value["key"], []).append(value["n"])
    return seen


@pytest.mark.parametrize("factor", [1, 3, 10])
def test_topic_to_topic_with_filter_template_and_per_key_order(kafka: KafkaCluster, factor: int) -> None:
    source = kafka.create_topic(partitions=2)
    out = unique_name("out")
    name = unique_name("p")
    values = [{"key": f"k{i % 7}", "n": i, "status": "paid" if i % 4 else "new"} for i in range(300)]
    kafka.seed_topic(source, values, key=lambda v: v["key"].encode())
    text = f"""
Pipes:
  - Name: {name}
    Source: {source}
    SourceParameters:
      FilterCriteria: {{Filters: [{{Pattern: '{{"value": {{"status": ["paid"]}}}}'}}]}}
      SelfManagedKafkaParameters: {{StartingPosition: TRIM_HORIZON, BatchSize: 7, ParallelizationFactor: {factor}}}
    Target: topic:{out}
    TargetParameters:
      InputTemplate: '{{"key": <$.value.key>, "n": <$.value.n>, "pipe": <aws.pipes.pipe-name>, "id": "<$.eventID>"}}'
"""
    with running(kafka, text) as runner:
        settle(kafka, f"eventpipes.pipe.{name}", source, 300)
        assert runner.counters.records_filtered == 75
    delivered = kafka.read_all(out)
    assert len(delivered) == 225
    for key, ns in by_key(delivered).items():
        assert ns == sorted(ns), f"{key} out of order at PF {factor}"
    first = json.loads(delivered[0].value or b"{}")
    assert first["pipe"] == name and first["id"].startswith(f"{source}-")
    assert delivered[0].key is not None and delivered[0].key.startswith(b"k")


def test_a_backlog_without_a_window_gives_full_batches(kafka: KafkaCluster) -> None:
    # A fetch takes at least a batch per lane: fewer (the records are taken a few hundred at
    # a time, see runner.fetch_records) would start the first batch at once, short of BatchSize.
    source = kafka.create_topic()
    name = unique_name("p")
    test = unique_name("t")
    kafka.seed_topic(source, [{"test": test, "n": i} for i in range(2500)])
    text = f"""
Pipes:
  - Name: {name}
    Source: {source}
    SourceParameters:
      SelfManagedKafkaParameters: {{StartingPosition: TRIM_HORIZON, BatchSize: 1000}}
    Target: function:test_pipe_support:record_batch
"""
    with running(kafka, text):
        settle(kafka, f"eventpipes.pipe.{name}", source, 2500)
    sizes = [len(batch) for batch in support.CALLS[test]]
    assert sum(sizes) == 2500 and max(sizes) <= 1000
    assert sizes[0] == 1000, sizes


@pytest.mark.parametrize("bisect", [False, True])
def test_partial_batch_failures_retry_then_dead_letter(kafka: KafkaCluster, bisect: bool) -> None:
    source = kafka.create_topic()
    dlq = unique_name("dlq")
    name = unique_name("p")
    test = unique_name("t")
    values = [{"test": test, "key": "a", "n": i, "poison": i in (3, 11)} for i in range(16)]
    kafka.seed_topic(source, values)
    target = "poison_raises" if bisect else "poison_partial"
    bisect_line = "OnPartialBatchItemFailure: AUTOMATIC_BISECT," if bisect else ""
    text = f"""
Pipes:
  - Name: {name}
    Source: {source}
    SourceParameters:
      SelfManagedKafkaParameters: {{StartingPosition: TRIM_HORIZON, BatchSize: 8, MaximumBatchingWindowInSeconds: 1,
                                   MaximumRetryAttempts: 1, {bisect_line} DeadLetterConfig: {{Arn: {dlq}}}}}
    Target: function:test_pipe_support:{target}
"""
    with running(kafka, text) as runner:
        settle(kafka, f"eventpipes.pipe.{name}", source, 16)
        assert runner.counters.records_dead_lettered >= 2
    dead = kafka.read_all(dlq)
    dead_ns = [json.loads(r.value or b"{}")["n"] for r in dead]
    if bisect:
        assert dead_ns == [3, 11]  # bisect isolated the poison records
    else:
        assert dead_ns == [3, 4, 5, 6, 7, 11, 12, 13, 14, 15]  # from the lowest failed record on
    headers = {k: v.decode() for k, v in dead[0].headers}
    assert headers["SOURCE_TOPIC"] == source and headers["SOURCE_PARTITION"] == "0" and headers["SOURCE_OFFSET"] == "3"
    assert headers["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts" and headers["RETRY_ATTEMPTS"] == "1"
    assert headers["RULE_ARN"].endswith(f":pipe/{name}") and headers["ERROR_CODE"] == "ERROR_FROM_TARGET"
    delivered = {n for batch in support.CALLS[test] for n in (json.loads(base64.b64decode(i["value"]))["n"] for i in batch)}
    assert delivered == set(range(16))


def test_enrichment_shapes_the_batch_and_empty_skips_the_target(kafka: KafkaCluster) -> None:
    source = kafka.create_topic()
    name = unique_name("p")
    test = unique_name("t")
    kafka.seed_topic(source, [{"test": test, "n": 1}, {"test": test, "n": 2}])
    text = f"""
Pipes:
  - Name: {name}
    Source: {source}
    SourceParameters: {{SelfManagedKafkaParameters: {{StartingPosition: TRIM_HORIZON, BatchSize: 2, MaximumBatchingWindowInSeconds: 2}}}}
    Enrichment: function:test_pipe_support:enrich_skip_or_double
    Target: function:test_pipe_support:record_batch
"""
    with running(kafka, text):
        settle(kafka, f"eventpipes.pipe.{name}", source, 2)
        kafka.seed_topic(source, [{"test": test, "n": 3, "skip": True}])
        settle(kafka, f"eventpipes.pipe.{name}", source, 3)
    batches = support.CALLS[test]
    assert batches == [[{"test": test, "n": 1, "copy": 1}, {"test": test, "n": 1, "copy": 2},
                        {"test": test, "n": 2, "copy": 1}, {"test": test, "n": 2, "copy": 2}]]


def test_http_enrichment_and_http_target_with_partial_response(kafka: KafkaCluster) -> None:
    source = kafka.create_topic()
    name = unique_name("p")
    tries: dict[int, int] = {}

    def respond(request: ReceivedRequest) -> tuple[int, bytes]:
        body = json.loads(request.body)
        if request.path == "/enrich":
            return 200, json.dumps([{"id": e["eventID"], "n": e["value_n"]} for e in body]).encode()
        failed = []
        for item in body:
            tries[item["n"]] = tries.get(item["n"], 0) + 1
            if item["n"] == 2 and tries[2] == 1:
                failed.append({"itemIdentifier": item["id"]})
        return 200, json.dumps({"batchItemFailures": failed}).encode()

    receiver = HttpReceiver(respond)
    try:
        kafka.seed_topic(source, [{"n": n} for n in range(4)])
        text = f"""
Pipes:
  - Name: {name}
    Source: {source}
    SourceParameters: {{SelfManagedKafkaParameters: {{StartingPosition: TRIM_HORIZON, BatchSize: 4, MaximumBatchingWindowInSeconds: 2}}}}
    Enrichment: {receiver.url}/enrich
    EnrichmentParameters: {{InputTemplate: '{{"eventID": <$.eventID>, "value_n": <$.value.n>}}'}}
    Target: {receiver.url}/target
"""
        with running(kafka, text):
            settle(kafka, f"eventpipes.pipe.{name}", source, 4)
        targets = [json.loads(r.body) for r in receiver.received("/target")]
        # the failed record and the ones after it were retried (with a fresh enrichment)
        assert [[i["n"] for i in batch] for batch in targets] == [[0, 1, 2, 3], [2, 3]]
    finally:
        receiver.close()


def test_bus_target_puts_events(kafka: KafkaCluster) -> None:
    source = kafka.create_topic()
    bus = kafka.create_bus()
    name = unique_name("p")
    kafka.seed_topic(source, [{"n": n} for n in range(12)])
    text = f"""
Pipes:
  - Name: {name}
    Source: {source}
    SourceParameters: {{SelfManagedKafkaParameters: {{StartingPosition: TRIM_HORIZON, BatchSize: 12, MaximumBatchingWindowInSeconds: 2}}}}
    Target: bus:{bus}
    TargetParameters:
      InputTemplate: '{{"n": <$.value.n>}}'
      EventBridgeEventBusParameters: {{DetailType: Number}}
"""
    with running(kafka, text):
        settle(kafka, f"eventpipes.pipe.{name}", source, 12)
    events = [json.loads(r.value or b"{}") for r in kafka.read_all(bus_topic(bus))]
    assert sorted(e["detail"]["n"] for e in events) == list(range(12))
    assert {e["source"] for e in events} == {f"Pipe {name}"} and {e["detail-type"] for e in events} == {"Number"}


def test_dynamodb_and_debezium_sources_give_stream_records(kafka: KafkaCluster) -> None:
    test = unique_name("t")
    dynamo_topic = kafka.create_topic()
    cdc_topic = kafka.create_topic()
    stream_record = {"eventID": "e1", "eventName": "INSERT", "dynamodb": {
        "Keys": {"id": {"S": test}}, "NewImage": {"id": {"S": test}, "test": {"S": test}},
        "SequenceNumber": "1", "SizeBytes": 10, "StreamViewType": "NEW_IMAGE"}}
    kafka.seed_topic(dynamo_topic, [stream_record, b"not json"])
    producer = kafka.producer()
    changes = [("c", None, {"id": 1, "test": test, "region": "eu"}), ("u", {"id": 1, "test": test, "region": "eu"},
               {"id": 1, "test": test, "region": "us"}), ("d", {"id": 1, "test": test, "region": "us"}, None)]
    for op, before, after in changes:
        producer.send(cdc_topic, key=json.dumps({"id": 1}).encode(),
                      value=json.dumps({"op": op, "before": before, "after": after, "ts_ms": 1}).encode())
    producer.send(cdc_topic, key=json.dumps({"id": 1}).encode(), value=None)  # tombstone
    producer.flush()
    dlq = unique_name("dlq")
    dynamo_pipe = f"""
Pipes:
  - Name: {unique_name("d")}
    Source: {dynamo_topic}
    SourceParameters:
      FilterCriteria: {{Filters: [{{Pattern: '{{"dynamodb": {{"NewImage": {{"test": {{"S": ["{test}"]}}}}}}}}'}}]}}
      DynamoDBStreamParameters: {{StartingPosition: TRIM_HORIZON, DeadLetterConfig: {{Arn: {dlq}}}}}
    Target: function:test_pipe_support:record_batch
"""
    cdc_pipe = f"""
Pipes:
  - Name: {unique_name("c")}
    Source: {cdc_topic}
    SourceParameters:
      FilterCriteria: {{Filters: [{{Pattern: '{{"dynamodb": {{"Keys": {{"id": {{"N": ["1"]}}}}}}}}'}}]}}
      DynamoDBStreamParameters: {{StartingPosition: TRIM_HORIZON, ChangeEventFormat: DEBEZIUM, BatchSize: 10, MaximumBatchingWindowInSeconds: 1}}
    Target: function:test_pipe_support:record_batch
    TargetParameters: {{InputTemplate: '{{"test": "{test}-cdc", "name": <$.eventName>, "new": <$.dynamodb.NewImage>, "old": <$.dynamodb.OldImage>}}'}}
"""
    with running(kafka, dynamo_pipe), running(kafka, cdc_pipe):
        wait_until(lambda: support.CALLS.get(test) and support.CALLS.get(f"{test}-cdc"), timeout=30, what="both pipes delivered")
        wait_until(lambda: kafka.read_all(dlq), timeout=30, what="the bad DynamoDB record dead-lettered")
    [[dynamo]] = support.CALLS[test]
    assert dynamo["eventName"] == "INSERT" and dynamo["eventSource"] == "aws:dynamodb" and dynamo["dynamodb"]["Keys"] == {"id": {"S": test}}
    cdc = [item for batch in support.CALLS[f"{test}-cdc"] for item in batch]
    assert [c["name"] for c in cdc] == ["INSERT", "MODIFY", "REMOVE"]
    assert cdc[0]["new"]["region"] == {"S": "eu"} and cdc[0]["old"] == "" and cdc[2]["new"] == ""
    assert cdc[1]["old"]["region"] == {"S": "eu"} and cdc[1]["new"]["region"] == {"S": "us"}
    assert {k: v.decode() for k, v in kafka.read_all(dlq)[0].headers}["ERROR_CODE"] == "INVALID_JSON"


def test_starting_positions_and_existing_group_offsets(kafka: KafkaCluster) -> None:
    source = kafka.create_topic()
    kafka.seed_topic(source, [{"n": n} for n in range(5)])
    time.sleep(0.05)  # the next records' timestamps must be later than the first five's
    middle_ms = int(time.time() * 1000)
    time.sleep(0.05)
    kafka.seed_topic(source, [{"n": n} for n in range(5, 8)])

    def start_and_count(position: str, extra: str = "", name: str | None = None) -> list[int]:
        name = name or unique_name("p")
        out = unique_name("out")
        group = f"eventpipes.pipe.{name}"
        text = f"""
Pipes:
  - Name: {name}
    Source: {source}
    SourceParameters: {{SelfManagedKafkaParameters: {{StartingPosition: {position} {extra}}}}}
    Target: topic:{out}
"""
        with running(kafka, text):
            if position == "LATEST":  # probe until the pipe has read (and committed) something
                wait_until(lambda: committed_offsets(kafka.client, group, source)[0] is not None
                           or kafka.seed_topic(source, [{"n": 99}]), timeout=30, interval=0.5, what="latest committed")
            settle(kafka, group, source, len(kafka.read_all(source)))
        return [json.loads(base64.b64decode(json.loads(r.value or b"{}")["value"]))["n"] for r in kafka.read_all(out)]

    assert start_and_count("TRIM_HORIZON") == list(range(8))
    assert start_and_count("AT_TIMESTAMP", f", StartingPositionTimestamp: {middle_ms / 1000}") == [5, 6, 7]
    latest = start_and_count("LATEST")
    assert latest and set(latest) == {99}  # only probes produced after it started
    # an existing group's committed offsets win over StartingPosition
    reused = unique_name("p")
    assert start_and_count("TRIM_HORIZON", name=reused)[:8] == list(range(8))
    kafka.seed_topic(source, [{"n": 100}])
    assert start_and_count("TRIM_HORIZON", name=reused) == [100]
