"""Benchmark: how late scheduled ticks are written, over many rules on one ticker.

N rules (default 1,000) share a rate whose period defaults to one minute, their anchors
spread evenly over one period (rules created at different moments), so about N ticks fall
due per period, each at its own instant. One ticker runs for the given duration against
the configured cluster; the output topic is then read with read_committed and each tick's
lateness (the record's CreateTime minus the tick's instant) summarised as p50/p99/max. It
also checks that no (rule, instant) appears twice and none is missing.

Run: ``.venv/bin/python benchmarks/schedules.py`` (about 2.5 minutes: one minute of warm-up
anchoring, two periods measured). ``--period 10 --duration 30`` for a shorter run with
ten-second test periods (``RateSchedule`` built directly; the expression language has no seconds).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
from datetime import datetime, timedelta, timezone

from kafka import KafkaConsumer, TopicPartition

from eventpipes.kafka.admin import Admin
from eventpipes.kafka.client_config import KafkaClientConfig, client_config
from eventpipes.kafka.schedule_ticker import ScheduleTicker
from eventpipes.kafka.topics import TopicSpec
from eventpipes.records import OutRecord
from eventpipes.schedules import RateSchedule, ScheduledRule, Tick, parse_schedule, scheduled_event
from eventpipes.settings import get_settings
from eventpipes.testing import unique_name


def read_committed(kafka: KafkaClientConfig, topic: str) -> list[tuple[str, datetime, int]]:
    consumer = KafkaConsumer(**kafka.kafka_python(), group_id=None, enable_auto_commit=False,
                             isolation_level="read_committed")
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    end = consumer.end_offsets([tp])[tp]
    out = []
    while consumer.position(tp) < end:
        for m in consumer.poll(timeout_ms=500).get(tp, []):
            out.append((m.key.decode(), datetime.fromisoformat(dict(m.headers)["tick"].decode()), m.timestamp))
    consumer.close()
    return out


async def run(rules: list[ScheduledRule], kafka: KafkaClientConfig, group: str, topic: str, seconds: float) -> None:
    def outputs(tick: Tick) -> list[OutRecord]:
        event = scheduled_event(tick.rule.arn, tick.instant, account="000000000000", region="us-east-1")
        return [OutRecord(topic, tick.rule.name.encode(), event.to_json(), [("tick", tick.instant.isoformat().encode())])]

    ticker = ScheduleTicker(kafka, group, rules, outputs)
    task = asyncio.create_task(ticker.run())
    await asyncio.sleep(seconds)
    ticker.stop()
    await task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--period", type=float, default=60.0, help="seconds between a rule's ticks (60: rate(1 minute))")
    parser.add_argument("--duration", type=float, default=None, help="seconds to run (default: two periods + 10 s)")
    args = parser.parse_args()
    kafka = client_config(get_settings())
    topic, group = unique_name("bench-ticks"), unique_name("bench-schedules")
    with Admin(kafka) as admin:
        admin.ensure_topic(TopicSpec(topic, 1))
    period = timedelta(seconds=args.period)
    start = datetime.now(timezone.utc) + timedelta(seconds=5)  # every anchor after the ticker owns
    schedule = parse_schedule("rate(1 minute)") if args.period == 60 else RateSchedule(f"every {args.period} s", period)
    rules = [ScheduledRule(f"r{n}", f"arn:aws:events:us-east-1:000000000000:rule/r{n}", schedule,
                           start + period * n / args.rules) for n in range(args.rules)]
    duration = args.duration or 2 * args.period + 10
    asyncio.run(run(rules, kafka, group, topic, duration))
    stopped = datetime.now(timezone.utc)

    records = read_committed(kafka, topic)
    late_ms = sorted(ts - t.timestamp() * 1000 for _, t, ts in records)
    seen = [(name, t) for name, t, _ in records]
    expected = {(r.name, t) for r in rules for k in range(1, 1000)
                if (t := r.anchor + k * period) <= stopped - timedelta(seconds=2)}  # type: ignore[operator]
    print(f"{args.rules} rules, period {args.period} s, {duration:.0f} s run: {len(records)} ticks written")
    print(f"  duplicates: {len(seen) - len(set(seen))}; missing: {len(expected - set(seen))}")
    if late_ms:
        p99 = late_ms[min(len(late_ms) - 1, int(0.99 * len(late_ms)))]
        print(f"  lateness ms: p50 {statistics.median(late_ms):.0f}, p99 {p99:.0f}, max {late_ms[-1]:.0f}")


if __name__ == "__main__":
    main()
