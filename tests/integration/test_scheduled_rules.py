"""Scheduled rules end to end: `eventpipes run` workers fire a rule's ticks through its targets, once per tick.

No test here waits a real minute (``test_schedule_ticker.py::test_real_one_minute_tick`` does).
Each test writes the rule's progress record before its workers start, as an earlier worker of
the group would have left it: the rule was anchored (first seen) 60 s minus a few seconds ago,
so its next ``rate(1 minute)`` tick is a few seconds away. That is the documented progress
format (docs/scheduled-rules.md), read by the workers exactly as after a restart; no test-only
option reaches the worker.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from eventpipes.arns import rule_arn
from eventpipes.status import status
from eventpipes.kafka.consumer import StartAt
from eventpipes.kafka.headers import GROUP_HEADER, INGESTION_HEADER, RULE_HEADER
from eventpipes.kafka.schedule_progress import read_progress
from eventpipes.kafka.topics import delivery_topic, schedules_topic, schedules_topic_spec
from eventpipes.records import Record
from eventpipes.schedules import Progress
from eventpipes.settings import Settings
from eventpipes.testing import KafkaCluster, WorkerProcess, free_port, unique_name, wait_until
from eventpipes.topology import load_file

PERIOD = timedelta(minutes=1)

TOPOLOGY = """
Rules:
  - Name: {rule}
    ScheduleExpression: rate(1 minute)
    Targets:
      - Id: shaped
        Topic: {topic}
        InputTransformer:
          InputPathsMap: {{source: $.source, type: $.detail-type, resources: $.resources, detail: $.detail, time: $.time}}
          InputTemplate: '{{"source": <source>, "type": <type>, "resources": <resources>, "detail": <detail>, "time": <time>, "rule": <aws.events.rule-name>}}'
      - {{Id: whole, Topic: {topic}.whole}}
"""

TWO_RULES = """
Rules:
  - {{Name: {first}, ScheduleExpression: rate(1 minute), Targets: [{{Id: out, Topic: {topic}}}]}}
  - {{Name: {second}, ScheduleExpression: rate(1 minute), Targets: [{{Id: out, Topic: {topic}}}]}}
"""


def tick_in(kafka: KafkaCluster, group: str, rule: str, seconds: int) -> datetime:
    """Record ``rule`` as anchored so that its next ``rate(1 minute)`` tick is ``seconds`` from now; returns that instant."""
    anchor = datetime.fromtimestamp(int(time.time()) + seconds, timezone.utc) - PERIOD
    kafka.admin.ensure_topic(schedules_topic_spec(group))
    kafka.seed_topic(schedules_topic(group), [Progress(anchor, None, anchor).to_json()], key=lambda _: rule.encode())
    return anchor + PERIOD


def events(kafka: KafkaCluster, topic: str, *, at_least: int, settle: float) -> list[dict[str, object]]:
    """The records of ``topic`` once ``at_least`` arrived, and whatever more arrives within ``settle`` seconds."""
    wait_until(lambda: len(kafka.read_all(topic, timeout=10)) >= at_least, timeout=60, interval=0.2, what=f"{at_least} record(s) on {topic}")
    records: list[Record] = kafka.read(topic, at_least + 10, timeout=settle, start=StartAt("beginning"))
    return [json.loads(r.value or b"") for r in records]


@pytest.fixture
def env(kafka: KafkaCluster) -> dict[str, str]:
    return {"KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap}


@pytest.fixture
def workers() -> Iterator[ExitStack]:
    with ExitStack() as stack:
        yield stack


def test_a_tick_reaches_a_topic_target_with_eventbridges_envelope_through_its_input_transformer(
        kafka: KafkaCluster, settings: Settings, tmp_path: Path, env: dict[str, str], workers: ExitStack) -> None:
    rule, topic, group = unique_name("every-minute"), unique_name("target"), unique_name("group")
    file = tmp_path / "scheduled.yaml"
    file.write_text(TOPOLOGY.format(rule=rule, topic=topic))
    instant = tick_in(kafka, group, rule, 8)
    workers.enter_context(WorkerProcess(str(file), group=group, web_port=free_port(), env=env)).wait_ready()

    arn = rule_arn(settings.region, settings.account, "default", rule)
    [whole] = events(kafka, f"{topic}.whole", at_least=1, settle=2)
    assert {k: whole[k] for k in ("version", "source", "detail-type", "resources", "detail", "time", "account", "region")} == {
        "version": "0", "source": "aws.events", "detail-type": "Scheduled Event", "resources": [arn], "detail": {},
        "time": instant.strftime("%Y-%m-%dT%H:%M:%SZ"), "account": settings.account, "region": settings.region}
    [shaped] = events(kafka, topic, at_least=1, settle=1)
    assert shaped == {"source": "aws.events", "type": "Scheduled Event", "resources": [arn], "detail": {},
                      "time": instant.strftime("%Y-%m-%dT%H:%M:%SZ"), "rule": rule}

    # status, from any process: the expression, the tick just fired and the next one.
    [shown] = [r for r in status(load_file(file), kafka=kafka.client, group=group, metrics_urls=[])["Rules"]
               if r["Name"] == rule]
    assert (shown["ScheduleExpression"], shown["LastFireTime"], shown["NextFireTime"]) == (
        "rate(1 minute)", instant.strftime("%Y-%m-%dT%H:%M:%SZ"), (instant + PERIOD).strftime("%Y-%m-%dT%H:%M:%SZ"))

    # The group's committed offsets pass the tick's transaction marker too: no lag is left behind.
    def lags() -> list[object]:
        rules = status(load_file(file), kafka=kafka.client, group=group, metrics_urls=[])["Rules"]
        return [t["Lag"] for r in rules if r["Name"] == rule for t in r["Targets"]]

    wait_until(lambda: lags() == [0, 0], timeout=10, interval=0.5, what=f"no delivery lag (last: {lags()})")


def test_two_workers_of_one_group_deliver_one_event_per_tick_between_them(
        kafka: KafkaCluster, tmp_path: Path, env: dict[str, str], workers: ExitStack) -> None:
    first, second, topic, group = unique_name("a"), unique_name("b"), unique_name("target"), unique_name("group")
    file = tmp_path / "two.yaml"
    file.write_text(TWO_RULES.format(first=first, second=second, topic=topic))
    instants = {first: tick_in(kafka, group, first, 12), second: tick_in(kafka, group, second, 15)}
    started = [workers.enter_context(WorkerProcess(str(file), group=group, web_port=free_port(), env=env)) for _ in range(2)]
    for worker in started:
        worker.wait_ready()

    delivered = events(kafka, topic, at_least=2, settle=4)
    assert sorted((e["resources"][0].rsplit("/", 1)[1], e["time"]) for e in delivered) == sorted(  # type: ignore[index]
        (name, at.strftime("%Y-%m-%dT%H:%M:%SZ")) for name, at in instants.items())
    assert all(worker.process.poll() is None for worker in started)


def test_a_worker_killed_just_before_a_tick_and_restarted_delivers_that_tick_once(
        kafka: KafkaCluster, tmp_path: Path, env: dict[str, str], workers: ExitStack) -> None:
    rule, topic, group = unique_name("tick"), unique_name("target"), unique_name("group")
    file = tmp_path / "scheduled.yaml"
    file.write_text(TOPOLOGY.format(rule=rule, topic=topic))
    instant = tick_in(kafka, group, rule, 10)
    first = workers.enter_context(WorkerProcess(str(file), group=group, web_port=free_port(), env=env)).wait_ready()

    wait_until(lambda: datetime.now(timezone.utc) >= instant - timedelta(seconds=1.5), timeout=30, what="1.5 s before the tick")
    first.kill()
    assert read_progress(kafka.client, group)[rule].last_fired is None
    assert kafka.read_all(f"{topic}.whole", timeout=5) == []

    workers.enter_context(WorkerProcess(str(file), group=group, web_port=free_port(), env=env)).wait_ready()
    [delivered] = events(kafka, f"{topic}.whole", at_least=1, settle=4)
    assert delivered["time"] == instant.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert read_progress(kafka.client, group)[rule].last_fired == instant


def test_records_of_an_aborted_transaction_on_a_delivery_topic_are_never_delivered(
        kafka: KafkaCluster, tmp_path: Path, env: dict[str, str], workers: ExitStack) -> None:
    """What a ticker whose transaction was aborted (fenced, killed) left on a delivery topic is not a tick."""
    rule, topic, group = unique_name("tick"), unique_name("target"), unique_name("group")
    file = tmp_path / "scheduled.yaml"
    file.write_text(TOPOLOGY.format(rule=rule, topic=topic))
    workers.enter_context(WorkerProcess(str(file), group=group, web_port=free_port(), env=env)).wait_ready()
    headers = [(INGESTION_HEADER, str(int(time.time() * 1000)).encode()), (GROUP_HEADER, group.encode()), (RULE_HEADER, rule.encode())]

    async def write() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap, transactional_id=unique_name("aborting"), acks="all")
        await producer.start()
        try:
            for outcome in ("aborted", "committed"):
                await producer.begin_transaction()
                event = {"version": "0", "id": outcome, "detail-type": "Scheduled Event", "source": "aws.events",
                         "account": "000000000000", "time": "2026-01-01T00:00:00Z", "region": "us-east-1",
                         "resources": [], "detail": {"outcome": outcome}}
                await producer.send_and_wait(delivery_topic("default", rule, "whole"), json.dumps(event).encode(),
                                             key=outcome.encode(), partition=0, headers=headers)
                await (producer.abort_transaction() if outcome == "aborted" else producer.commit_transaction())
        finally:
            await producer.stop()

    asyncio.run(write())
    delivered = events(kafka, f"{topic}.whole", at_least=1, settle=4)
    assert [e["detail"] for e in delivered] == [{"outcome": "committed"}]
