"""Replay speed against raw consumption of the same archive topic, same client, same run.

    flock /tmp/eventpipes-bench.lock .venv/bin/python benchmarks/replay.py                  # 1,000,000 events of ~1 KB (~2 min)
    flock /tmp/eventpipes-bench.lock .venv/bin/python benchmarks/replay.py --events 100000  # quick

Fills an archive topic (3 partitions) directly with events whose times are spread over
a day (record timestamp = event time, as the archiver writes them), then:

- raw: a kafka-python consumer configured as the replay's own (the client the replay
  reads with) reads every record, no processing; measured before and after the replay,
  and the faster of the two is the baseline;
- replay: a ReplayJob (rate limit off) with a window covering every event, into a plain
  topic: window lookup, time-ordered merge, replay-name added, produced with acks=all
  (aiokafka batches), checkpoints; timed from start to COMPLETED;
- best raw loops (issue 21): ``baselines.COPY_LOOPS`` (aiokafka batched, confluent-kafka)
  copying the archive topic to a plain topic of as many partitions, acks=all, as the replay
  does without its merge, window or checkpoints; the best of them is the new baseline;
- seek: the time ``offsets_for_times`` takes to find the start of a window in the
  middle of the archive (cold: a new consumer; warm: a connected one).

Prints events/second for each and the replay's ratio to the raw read (the history's
baseline: replay >= 50%) and to the best raw copy loop (issue 21: >= 60%), and the seek
times (target: < 1 s). The topics are deleted afterwards.
"""

from __future__ import annotations

import argparse
import json
import time
import uuid

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

import baselines

from eventpipes.archive.model import Archive
from eventpipes.archive.replay import ReplayJob, ReplayRequest, start_replay
from eventpipes.archive.store import ArchiveStore
from eventpipes.kafka.topics import archive_topic, replay_topic
from eventpipes.settings import Settings

DAY_MS = 86_400_000


def fill(bootstrap: str, topic: str, count: int, start_ms: int) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20, batch_size=1024 * 1024, max_request_size=4 * 1024 * 1024)
    pad = "x" * 760
    step = DAY_MS / count
    for i in range(count):
        at = int(start_ms + i * step)
        event_id = str(uuid.uuid4())
        body = {"version": "0", "id": event_id, "detail-type": "Bench", "source": "bench", "account": "000000000000",
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at / 1000)), "region": "us-east-1", "resources": [],
                "detail": {"i": i, "pad": pad}}
        producer.send(topic, key=event_id.encode(), value=json.dumps(body, separators=(",", ":")).encode(), timestamp_ms=at)
    producer.flush()
    producer.close()


def raw_rate(bootstrap: str, topic: str, count: int) -> float:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, max_poll_records=2000,
                             fetch_max_bytes=64 * 1024 * 1024, max_partition_fetch_bytes=8 * 1024 * 1024)
    partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    began, seen = time.perf_counter(), 0
    while seen < count:
        for records in consumer.poll(timeout_ms=500).values():
            seen += len(records)
    elapsed = time.perf_counter() - began
    consumer.close()
    return seen / elapsed


def best_copy(bootstrap: str, topic: str, count: int) -> baselines.Best:
    """The best raw copy loops, from the archive topic to a plain topic of as many partitions (deleted after)."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    sink = f"bench-raw-{uuid.uuid4().hex[:8]}"
    partitions = len(KafkaConsumer(bootstrap_servers=bootstrap).partitions_for_topic(topic) or ())
    admin.create_topics([NewTopic(sink, partitions, 1, topic_configs={"max.message.bytes": str(2 * 1024 * 1024)})])
    try:
        return baselines.best_copy(bootstrap, topic, sink, count)
    finally:
        admin.delete_topics([sink])
        admin.close()


def seek_times(bootstrap: str, topic: str, middle_ms: int) -> tuple[float, float]:
    began = time.perf_counter()
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
    consumer.offsets_for_times({tp: middle_ms for tp in partitions})
    cold = time.perf_counter() - began
    began = time.perf_counter()
    found = consumer.offsets_for_times({tp: middle_ms + 1000 for tp in partitions})
    warm = time.perf_counter() - began
    assert all(found[tp] is not None for tp in partitions)
    consumer.close()
    return cold, warm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    settings = Settings()
    bootstrap = settings.bootstrap_servers
    name = f"bench-{uuid.uuid4().hex[:8]}"
    out = f"bench-out-{uuid.uuid4().hex[:8]}"
    start_ms = int(time.time() * 1000) - 2 * DAY_MS
    with ArchiveStore(settings) as store:
        store.create_archive(Archive(ArchiveName=name, EventBusName=f"{name}-bus"))
        topic = archive_topic(name)
        began = time.perf_counter()
        fill(bootstrap, topic, args.events, start_ms)
        print(f"filled {args.events:,} events of ~1 KB in {time.perf_counter() - began:.1f} s")
        try:
            before = raw_rate(bootstrap, topic, args.events)
            print(f"raw consumption:   {before:10,.0f} events/s (before the replay)")
            request = ReplayRequest(name=f"{name}-replay", archive=name, start_ms=start_ms, end_ms=start_ms + DAY_MS, to_topic=out)
            began = time.perf_counter()
            final = ReplayJob(store, start_replay(store, request)).run()
            elapsed = time.perf_counter() - began
            assert final.progress.events_replayed == args.events, final.progress
            replay = args.events / elapsed
            print(f"replay (no limit): {replay:10,.0f} events/s ({elapsed:.1f} s)")
            after = raw_rate(bootstrap, topic, args.events)
            raw = max(before, after)
            print(f"raw consumption:   {after:10,.0f} events/s (after the replay)")
            best = best_copy(bootstrap, topic, args.events)
            print("\n".join(best.lines()))
            print(f"replay = {replay / raw:.0%} of the faster raw read (target >= 50%); "
                  f"{replay / best.rate:.0%} of the best raw consume-and-produce loop (target >= 60%)")
            cold, warm = seek_times(bootstrap, topic, start_ms + DAY_MS // 2)
            print(f"find a window's start in the middle: {cold * 1000:.0f} ms cold (new consumer), {warm * 1000:.1f} ms warm (target < 1 s)")
        finally:
            store.delete_archive(name)
            store.admin.delete_topic(out)
            store.admin.delete_topic(replay_topic(f"{name}-bus"))  # made with the archive, left by its deletion


if __name__ == "__main__":
    main()
