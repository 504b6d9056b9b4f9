"""One batch through BatchProcessor, and dead letters through DeadLetterWriter, without Kafka."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from eventpipes.pipes import dead_letters as dead_letters_module
from eventpipes.pipes.counters import Counters
from eventpipes.pipes.dead_letters import DeadLetterWriter
from eventpipes.pipes.events import PipeArns, to_pipe_record
from eventpipes.pipes.failures import BatchResult
from eventpipes.pipes.model import Pipe
from eventpipes.pipes.processing import BatchProcessor
from eventpipes.pipes.record import PipeRecord
from eventpipes.records import Record
from eventpipes.topology import load_text

REGION, ACCOUNT = "eu-west-1", "1" * 12


class Sender:
    """Records what is sent; fails the first ``failures`` sends."""

    def __init__(self, failures: int = 0) -> None:
        self.sent: list[tuple[str, bytes | None, bytes | None, dict[str, bytes]]] = []
        self.failures = failures

    async def send_and_wait(self, topic: str, value: bytes | None = None, key: bytes | None = None,
                            headers: list[tuple[str, bytes]] | None = None) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("broker away")
        self.sent.append((topic, value, key, dict(headers or [])))


class Target:
    """Fails the items whose value names ``"fail": true`` (a partial batch response)."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[Any], list[str] | None]] = []

    async def send(self, payloads: list[Any], ids: list[str] | None, keys: list[bytes | None]) -> BatchResult:
        self.calls.append((payloads, ids))
        failed = [i for p, i in zip(payloads, ids or []) if p.get("fail")]
        return BatchResult.partial(failed) if failed else BatchResult.success()

    async def close(self) -> None:
        return None


class EmptyEnrichment:
    async def enrich(self, batch: list[Any]) -> Any:
        return []

    async def close(self) -> None:
        return None


def pipe(source: str = "SelfManagedKafkaParameters: {MaximumRetryAttempts: 0}", extra: str = "") -> Pipe:
    return load_text(f"""
Pipes:
  - Name: p
    Source: src
    SourceParameters: {{{source}, FilterCriteria: {{Filters: [{{Pattern: '{{"value": {{"keep": [true]}}}}'}}]}}}}
    Target: 'topic:out'
    TargetParameters: {{InputTemplate: '{{"n": <$.value.n>, "fail": <$.value.fail>}}'}}
{extra}""").pipes[0]


def items(the_pipe: Pipe, values: list[bytes | None]) -> list[PipeRecord]:
    return [to_pipe_record(Record("src", 0, offset, 1700000000000, b"k", value, ()), the_pipe,
                           bootstrap_servers="b", region=REGION, account=ACCOUNT) for offset, value in enumerate(values)]


def processor(the_pipe: Pipe, sender: Sender, target: Any, enrichment: Any = None) -> BatchProcessor:
    arns = PipeArns.of(the_pipe, region=REGION, account=ACCOUNT)
    counters = Counters()
    config = the_pipe.stream.dead_letter_config
    writer = DeadLetterWriter(the_pipe.name, config, sender, arns, counters)
    return BatchProcessor(the_pipe, target=target, enrichment=enrichment, arns=arns, dead_letters=writer,
                          counters=counters)


def value(n: int, *, keep: bool = True, fail: bool = False) -> bytes:
    return json.dumps({"n": n, "keep": keep, "fail": fail}).encode()


def test_a_batch_is_filtered_rendered_delivered_and_the_refused_record_dead_lettered() -> None:
    the_pipe = pipe("SelfManagedKafkaParameters: {MaximumRetryAttempts: 0, DeadLetterConfig: {Arn: dlq}}")
    sender, target = Sender(), Target()
    batch = processor(the_pipe, sender, target)
    asyncio.run(batch.process(items(the_pipe, [value(0), value(1, keep=False), value(2, fail=True), value(3)])))
    assert target.calls[0] == ([{"n": 0, "fail": False}, {"n": 2, "fail": True}, {"n": 3, "fail": False}],
                               ["src-0:0", "src-0:2", "src-0:3"])
    # without bisect, from the lowest failed record on; no retries: both go to the dead-letter topic
    assert [(topic, dead_value, key) for topic, dead_value, key, _ in sender.sent] == [("dlq", value(2, fail=True), b"k"),
                                                                                      ("dlq", value(3), b"k")]
    headers = sender.sent[0][3]
    assert headers["SOURCE_TOPIC"] == b"src" and headers["SOURCE_OFFSET"] == b"2" and headers["EVENT_ID"] == b"src-0:2"
    assert headers["ATTEMPTS"] == b"1" and headers["RETRY_ATTEMPTS"] == b"0"
    assert headers["TARGET_ARN"] == b"topic:out" and headers["RULE_ARN"] == b"arn:aws:pipes:eu-west-1:111111111111:pipe/p"
    counters = batch.counters
    assert (counters.batches, counters.records_filtered, counters.records_delivered) == (1, 1, 1)
    assert (counters.invocations, counters.failed_invocations, counters.records_dead_lettered) == (1, 1, 2)

def test_an_unusable_record_is_dead_lettered_at_once_and_a_tombstone_is_done() -> None:
    the_pipe = pipe("DynamoDBStreamParameters: {ChangeEventFormat: DEBEZIUM, DeadLetterConfig: {Arn: dlq}}")
    sender, target = Sender(), Target()
    batch = processor(the_pipe, sender, target)
    asyncio.run(batch.process(items(the_pipe, [b"not json", None])))
    assert target.calls == []
    [(_, dead_value, _, headers)] = sender.sent
    assert dead_value == b"not json" and headers["ERROR_CODE"] == b"INVALID_JSON" and headers["ATTEMPTS"] == b"0"
    assert batch.counters.records_dead_lettered == 1 and batch.counters.records_filtered == 1  # the tombstone


def test_an_empty_enrichment_result_ends_the_batch_without_invoking_the_target() -> None:
    the_pipe = pipe(extra="    Enrichment: 'function:json:dumps'\n")
    target = Target()
    batch = processor(the_pipe, Sender(), target, EmptyEnrichment())
    asyncio.run(batch.process(items(the_pipe, [value(0)])))
    assert target.calls == [] and batch.counters.invocations == 1 and batch.counters.records_delivered == 1


def test_a_dead_letter_write_is_retried_until_kafka_takes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dead_letters_module, "DLQ_RETRY_SECONDS", 0.0)
    the_pipe = pipe("SelfManagedKafkaParameters: {DeadLetterConfig: {Arn: dlq}}")
    arns = PipeArns.of(the_pipe, region=REGION, account=ACCOUNT)
    sender, counters = Sender(failures=2), Counters()
    writer = DeadLetterWriter("p", the_pipe.stream.dead_letter_config, sender, arns, counters)
    [item] = items(the_pipe, [value(0)])
    asyncio.run(writer.write_now(item, "ERROR_FROM_TARGET", "no"))
    assert len(sender.sent) == 1 and sender.failures == 0 and counters.records_dead_lettered == 1


def test_without_a_dead_letter_config_a_record_is_discarded_and_counted() -> None:
    the_pipe = pipe()
    sender, counters = Sender(), Counters()
    writer = DeadLetterWriter("p", None, sender, PipeArns.of(the_pipe, region=REGION, account=ACCOUNT), counters)
    [item] = items(the_pipe, [value(0)])
    asyncio.run(writer.write_now(item, "ERROR_FROM_TARGET", "no"))
    assert sender.sent == [] and (counters.records_discarded, counters.records_dead_lettered) == (1, 0)
