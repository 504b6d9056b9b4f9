"""The schedule ticker on the real broker: one record per tick, once across workers and across a SIGKILL.

Outputs are read with ``read_committed``, as every reader of a ticker's outputs must. Most
tests use a rate of a few seconds (``RateSchedule`` built directly; the expression language
has no seconds); ``test_real_one_minute_tick`` waits for a real ``rate(1 minute)`` tick.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from kafka import KafkaConsumer, TopicPartition

from eventpipes.kafka.schedule_progress import read_progress
from eventpipes.kafka.schedule_ticker import ScheduleTicker
from eventpipes.kafka.topics import schedules_topic, schedules_topic_spec
from eventpipes.records import OutRecord, Record, record_from_message
from eventpipes.schedules import Progress, RateSchedule, Schedule, ScheduledRule, Tick, parse_schedule, scheduled_event
from eventpipes.testing import KafkaCluster, unique_name, wait_until

SUPPORT = Path(__file__).parent / "support"
ACCOUNT, REGION = "000000000000", "us-east-1"


def read_committed(bootstrap: str, topic: str, isolation: str = "read_committed") -> list[Record]:
    """Every committed record of partition 0 of ``topic``, as a read_committed consumer sees it now
    (with ``isolation="read_uncommitted"``: every record, open transactions' included)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                             isolation_level=isolation)
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        end = consumer.end_offsets([tp])[tp]
        records: list[Record] = []
        deadline = time.monotonic() + 10
        while consumer.position(tp) < end and time.monotonic() < deadline:
            records += [record_from_message(m) for m in consumer.poll(timeout_ms=200).get(tp, [])]
        return records
    finally:
        consumer.close()


def instants(records: list[Record]) -> list[datetime]:
    return [datetime.fromisoformat(dict(r.headers)["tick"].decode()) for r in records]


def outputs_to(topic: str):  # type: ignore[no-untyped-def]
    def outputs(tick: Tick) -> list[OutRecord]:
        event = scheduled_event(tick.rule.arn, tick.instant, account=ACCOUNT, region=REGION)
        return [OutRecord(topic, tick.rule.name.encode(), event.to_json(), [("tick", tick.instant.isoformat().encode())])]
    return outputs


def whole_second_now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def rule(name: str, schedule: Schedule, anchor: datetime | None) -> ScheduledRule:
    return ScheduledRule(name, f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{name}", schedule, anchor)


class TickerThread:
    """A ticker running on its own event loop in a thread."""

    def __init__(self, ticker: ScheduleTicker) -> None:
        self.ticker = ticker
        self.loop: asyncio.AbstractEventLoop | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        async def main() -> None:
            self.loop = asyncio.get_running_loop()
            await self.ticker.run()

        try:
            asyncio.run(main())
        except BaseException as exc:  # surfaced by stop()
            self.error = exc

    def stop(self) -> None:
        wait_until(lambda: self.loop is not None, timeout=10, what="ticker loop started")
        assert self.loop is not None
        self.loop.call_soon_threadsafe(self.ticker.stop)
        self.thread.join(timeout=30)
        assert not self.thread.is_alive()
        assert self.error is None, self.error


def test_one_ticker_delivers_one_scheduled_event_per_tick(kafka: KafkaCluster) -> None:
    topic, group = kafka.create_topic(unique_name("ticks")), unique_name("group")
    anchor = whole_second_now()
    period = timedelta(seconds=2)
    fast = rule("fast", RateSchedule("test", period), anchor)
    ticker = TickerThread(ScheduleTicker(kafka.client, group, [fast], outputs_to(topic)))
    try:
        wait_until(lambda: len(read_committed(kafka.bootstrap, topic)) >= 3, timeout=30, what="three ticks")
    finally:
        ticker.stop()
    records = read_committed(kafka.bootstrap, topic)
    expected = [anchor + k * period for k in range(1, len(records) + 1)]
    status = ticker.ticker.status()["fast"]
    assert status.last_fired == expected[-1] and status.next_fire is not None and status.next_fire > expected[-1]
    assert instants(records) == expected
    lateness = [r.timestamp_ms / 1000 - t.timestamp() for r, t in zip(records, expected)]
    print(f"lateness of {len(lateness)} ticks (s): {[round(x, 3) for x in lateness]}")
    assert all(0 <= x < 2 for x in lateness)
    body = json.loads(records[0].value or b"")
    assert body["source"] == "aws.events" and body["detail-type"] == "Scheduled Event"
    assert body["time"] == expected[0].strftime("%Y-%m-%dT%H:%M:%SZ")
    assert body["resources"] == [fast.arn] and body["detail"] == {} and body["version"] == "0"
    assert len({json.loads(r.value or b"")["id"] for r in records}) == len(records)
    progress = read_progress(kafka.client, group)
    assert progress["fast"].last_fired == expected[-1] == progress["fast"].handled_through


def test_a_rule_without_anchor_keeps_the_anchor_recorded_in_kafka_across_restarts(kafka: KafkaCluster) -> None:
    topic, group = kafka.create_topic(unique_name("ticks")), unique_name("group")
    period = timedelta(seconds=2)
    topo = rule("topo", RateSchedule("test", period), anchor=None)  # e.g. a rule from a topology file
    for ticks in (2, 4):
        ticker = TickerThread(ScheduleTicker(kafka.client, group, [topo], outputs_to(topic)))
        try:
            wait_until(lambda: len(read_committed(kafka.bootstrap, topic)) >= ticks, timeout=30, what=f"{ticks} ticks")
        finally:
            ticker.stop()
        if ticks == 2:
            anchor = read_progress(kafka.client, group)["topo"].anchor
            assert anchor is not None
    assert read_progress(kafka.client, group)["topo"].anchor == anchor  # the second ticker kept it
    fired = instants(read_committed(kafka.bootstrap, topic))
    assert len(set(fired)) == len(fired) >= 4
    assert all((t - anchor) % period == timedelta(0) and t > anchor for t in fired)  # one phase throughout


def test_rules_updated_while_running_take_effect_at_once(kafka: KafkaCluster) -> None:
    topic, group = kafka.create_topic(unique_name("ticks")), unique_name("group")
    period = timedelta(seconds=2)
    slow = rule("slow", RateSchedule("test", timedelta(hours=1)), whole_second_now())
    ticker = TickerThread(ScheduleTicker(kafka.client, group, [slow], outputs_to(topic)))
    try:
        wait_until(lambda: ticker.ticker.is_owner, timeout=30, what="the ticker owning")
        anchor = whole_second_now()
        added = rule("added", RateSchedule("test", period), anchor)
        assert ticker.loop is not None
        ticker.loop.call_soon_threadsafe(ticker.ticker.update_rules, [slow, added])
        wait_until(lambda: len(read_committed(kafka.bootstrap, topic)) >= 2, timeout=30, what="two ticks of the added rule")
    finally:
        ticker.stop()
    fired = read_committed(kafka.bootstrap, topic)
    assert {r.key for r in fired} == {b"added"}
    assert instants(fired) == [anchor + k * period for k in range(1, len(fired) + 1)]


def test_two_tickers_in_one_group_deliver_each_tick_once(kafka: KafkaCluster) -> None:
    topic, group = kafka.create_topic(unique_name("ticks")), unique_name("group")
    anchor = whole_second_now()
    period = timedelta(seconds=4)
    rules = [rule("a", RateSchedule("test", period), anchor), rule("b", RateSchedule("test", period), anchor + timedelta(seconds=1))]
    # A 6 s session means a 2 s heartbeat: a departed owner's successor takes over within a period.
    first, second = (TickerThread(ScheduleTicker(kafka.client, group, rules, outputs_to(topic), session_timeout_ms=6000))
                     for _ in range(2))
    try:
        wait_until(lambda: len(read_committed(kafka.bootstrap, topic)) >= 6, timeout=40, what="three ticks of each rule")
        owners = [t for t in (first, second) if t.ticker.is_owner]
        assert len(owners) == 1
        survivor = second if owners[0] is first else first
        owners[0].stop()  # ownership moves to the other worker
        before = len(read_committed(kafka.bootstrap, topic))
        wait_until(lambda: survivor.ticker.is_owner, timeout=20, what="the other ticker owning")
        wait_until(lambda: len(read_committed(kafka.bootstrap, topic)) >= before + 4, timeout=40, what="two more ticks of each")
    finally:
        for t in (first, second):
            if t.thread.is_alive():
                t.stop()
    records = read_committed(kafka.bootstrap, topic)
    for name, rule_anchor in (("a", anchor), ("b", anchor + timedelta(seconds=1))):
        fired = instants([r for r in records if r.key == name.encode()])
        assert fired == [rule_anchor + k * period for k in range(1, len(fired) + 1)], name  # none twice, none skipped
        assert len(fired) >= 5


def test_a_ticker_killed_just_before_a_tick_and_restarted_fires_it_once(kafka: KafkaCluster, tmp_path: Path) -> None:
    topic, group = kafka.create_topic(unique_name("ticks")), unique_name("group")
    anchor = whole_second_now()
    period = timedelta(seconds=10)

    def start(log: Path) -> subprocess.Popen[bytes]:
        args = [sys.executable, str(SUPPORT / "schedule_ticker_process.py"), kafka.bootstrap, group, topic,
                str(period.total_seconds()), anchor.isoformat(), "6000"]
        return subprocess.Popen(args, stdout=log.open("wb"), stderr=subprocess.STDOUT)

    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    first = start(first_log)
    try:
        wait_until(lambda: "OWNER" in first_log.read_text(), timeout=30, what="first process owning")
        wait_until(lambda: len(read_committed(kafka.bootstrap, topic)) == 1, timeout=30, what="the first tick")
        second_tick = anchor + 2 * period
        wait_until(lambda: datetime.now(timezone.utc) >= second_tick - timedelta(seconds=1.5), timeout=30,
                   interval=0.01, what="just before the second tick")
        first.kill()  # SIGKILL: no leave-group, no cleanup; its membership lingers for the 6 s session
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    killed_at = datetime.now(timezone.utc)
    assert killed_at < second_tick and len(read_committed(kafka.bootstrap, topic)) == 1

    second = start(second_log)
    try:
        wait_until(lambda: len(read_committed(kafka.bootstrap, topic)) >= 3, timeout=60, what="the second and third ticks")
    finally:
        second.terminate()
        second.wait(timeout=30)
    records = read_committed(kafka.bootstrap, topic)
    fired = instants(records)
    assert fired == [anchor + k * period for k in range(1, len(fired) + 1)]  # the killed tick once, nothing twice
    assert records[1].timestamp_ms / 1000 > killed_at.timestamp()  # fired by the restarted process
    print(f"tick due {second_tick.time()} killed {killed_at.time()}, fired at "
          f"{datetime.fromtimestamp(records[1].timestamp_ms / 1000, timezone.utc).time()} by the restarted process")


def test_a_transaction_left_open_by_a_dead_owner_is_aborted_and_its_tick_fired_once(kafka: KafkaCluster) -> None:
    """What a SIGKILL inside the tick's transaction leaves: outputs and progress written, never committed."""
    topic, group = kafka.create_topic(unique_name("ticks")), unique_name("group")
    kafka.admin.ensure_topic(schedules_topic_spec(group))
    anchor = whole_second_now()
    period = timedelta(seconds=3)
    fast = rule("fast", RateSchedule("test", period), anchor)
    first_tick = anchor + period

    async def die_inside_a_transaction() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap, transactional_id=schedules_topic(group), acks="all")
        await producer.start()
        await producer.begin_transaction()
        [record] = outputs_to(topic)(Tick(fast, first_tick, catch_up=False))
        await producer.send_and_wait(record.topic, record.value, key=record.key, headers=record.headers)
        done = Progress(first_tick, first_tick).to_json()
        await producer.send_and_wait(schedules_topic(group), done, key=b"fast", partition=0)
        # No commit, no abort, no stop: the process is gone as far as Kafka can tell.

    asyncio.run(die_inside_a_transaction())
    assert len(read_committed(kafka.bootstrap, topic, "read_uncommitted")) == 1  # the uncommitted output is in the log ...
    assert read_committed(kafka.bootstrap, topic) == []  # ... and invisible to read_committed readers
    wait_until(lambda: datetime.now(timezone.utc) > first_tick, timeout=10, what="the first tick due")

    ticker = TickerThread(ScheduleTicker(kafka.client, group, [fast], outputs_to(topic)))
    try:
        wait_until(lambda: len(read_committed(kafka.bootstrap, topic)) >= 2, timeout=30, what="two committed ticks")
    finally:
        ticker.stop()
    fired = instants(read_committed(kafka.bootstrap, topic))
    assert fired == [anchor + k * period for k in range(1, len(fired) + 1)]  # the dead owner's tick once, by the new owner


def test_a_new_owner_reads_all_committed_progress_before_firing(kafka: KafkaCluster) -> None:
    """Progress long enough that reading it takes a while: a tick already fired is not fired again."""
    topic, group = kafka.create_topic(unique_name("ticks")), unique_name("group")
    kafka.admin.ensure_topic(schedules_topic_spec(group))
    anchor = whole_second_now()
    period = timedelta(seconds=4)
    fast = rule("fast", RateSchedule("test", period), anchor)
    first_tick = anchor + period
    wait_until(lambda: datetime.now(timezone.utc) > first_tick, timeout=10, what="the first tick due")

    async def an_earlier_owner_fired_the_first_tick() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap, transactional_id=schedules_topic(group), acks="all")
        await producer.start()
        try:
            await producer.begin_transaction()
            filler = Progress(anchor, None).to_json()
            for n in range(20_000):  # other rules' progress, read before "fast"'s
                await producer.send(schedules_topic(group), filler, key=f"other-{n}".encode(), partition=0)
            [record] = outputs_to(topic)(Tick(fast, first_tick, catch_up=False))
            await producer.send(record.topic, record.value, key=record.key, headers=record.headers)
            await producer.send(schedules_topic(group), Progress(first_tick, first_tick).to_json(), key=b"fast", partition=0)
            await producer.commit_transaction()
        finally:
            await producer.stop()

    asyncio.run(an_earlier_owner_fired_the_first_tick())
    ticker = TickerThread(ScheduleTicker(kafka.client, group, [fast], outputs_to(topic)))
    try:
        wait_until(lambda: len(read_committed(kafka.bootstrap, topic)) >= 2, timeout=30, what="the second tick")
    finally:
        ticker.stop()
    fired = instants(read_committed(kafka.bootstrap, topic))
    assert fired == [anchor + k * period for k in range(1, len(fired) + 1)]  # the first tick not again


@pytest.mark.real_time
def test_real_one_minute_tick_of_rate_1_minute(kafka: KafkaCluster) -> None:
    """WAITS ABOUT 60 SECONDS: the one test that waits for a real ``rate(1 minute)`` tick."""
    topic, group = kafka.create_topic(unique_name("ticks")), unique_name("group")
    anchor = whole_second_now()
    minute = rule("every-minute", parse_schedule("rate(1 minute)"), anchor)
    ticker = TickerThread(ScheduleTicker(kafka.client, group, [minute], outputs_to(topic)))
    try:
        records = wait_until(lambda: read_committed(kafka.bootstrap, topic), timeout=75, interval=0.5, what="the minute tick")
    finally:
        ticker.stop()
    tick = anchor + timedelta(minutes=1)
    assert len(records) == 1
    assert json.loads(records[0].value or b"")["time"] == tick.strftime("%Y-%m-%dT%H:%M:%SZ")
    late = records[0].timestamp_ms / 1000 - tick.timestamp()
    print(f"rate(1 minute) tick written {late:.3f} s after its instant")
    assert 0 <= late < 2
    assert schedules_topic(group) in kafka.admin.topics()
