"""PutEvents from many threads sharing one client: records of different calls share Kafka batches,
yet each call reports its own entries, and a failure stays with the entries it touched."""

from __future__ import annotations

import json
import threading

from eventpipes.bus.put_events import EventBusClient
from eventpipes.events import Event
from eventpipes.kafka.client_config import client_config
from eventpipes.kafka.shared_producer import Outgoing, SharedProducer
from eventpipes.kafka.topics import TopicSpec, bus_topic
from eventpipes.testing import KafkaCluster

THREADS = 16
CALLS = 5


def entry(thread: int, call: int, n: int, pad: int = 0) -> dict[str, object]:
    return {"Source": "tests", "DetailType": "t", "Detail": json.dumps({"thread": thread, "call": call, "n": n, "pad": "x" * pad})}


def test_concurrent_callers_each_get_exactly_their_own_entries_results(kafka: KafkaCluster, bus_name: str) -> None:
    reported: dict[tuple[int, int, int], str | None] = {}
    errors: list[BaseException] = []
    kafka.create_bus(bus_name)  # only buses that exist take events
    with EventBusClient(kafka.settings) as client:
        start = threading.Barrier(THREADS)

        def caller(thread: int) -> None:
            try:
                start.wait()
                for call in range(CALLS):
                    result = client.put_events([entry(thread, call, n) for n in range(10)], bus=bus_name)
                    for n, outcome in enumerate(result.entries):
                        reported[(thread, call, n)] = outcome.event_id
            except BaseException as exc:  # noqa: BLE001 - re-raised below, in the test's thread
                errors.append(exc)

        threads = [threading.Thread(target=caller, args=(t,)) for t in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    assert not errors
    on_bus = {event.id: (event.detail["thread"], event.detail["call"], event.detail["n"])
              for event in (Event.from_json(r.value or b"") for r in kafka.read_all(bus_topic(bus_name)))}
    assert len(reported) == THREADS * CALLS * 10
    assert all(event_id is not None for event_id in reported.values())
    # Every id a call got back names the event made from that very entry, and no other call got it.
    assert {event_id: key for key, event_id in reported.items()} == on_bus


def test_a_record_too_large_for_its_topic_fails_alone_though_it_shared_a_batch(kafka: KafkaCluster, bus_name: str) -> None:
    # One partition and a small max.message.bytes: the call's three records go in one batch,
    # which Kafka refuses whole; only the large entry may fail.
    kafka.admin.ensure_topic(TopicSpec(bus_topic(bus_name), 1, {"max.message.bytes": "4096"}))
    with EventBusClient(kafka.settings) as client:
        result = client.put_events([entry(0, 0, 0), entry(0, 0, 1, pad=8000), entry(0, 0, 2)], bus=bus_name)
        after = client.put_events([entry(0, 1, 0)], bus=bus_name)  # the producer dropped after the failure: a new one works
    assert [e.error_code for e in result.entries] == [None, "InternalFailure", None]
    assert "MessageSizeTooLarge" in (result.entries[1].error_message or "")
    assert after.failed_entry_count == 0
    on_bus = sorted((e.detail["call"], e.detail["n"]) for e in (Event.from_json(r.value or b"") for r in kafka.read_all(bus_topic(bus_name))))
    assert on_bus == [(0, 0), (0, 2), (1, 0)]


def test_the_shared_producer_settles_each_submission_with_its_own_outcomes(kafka: KafkaCluster) -> None:
    small = kafka.create_topic(partitions=1, config={"max.message.bytes": "4096"})
    roomy = kafka.create_topic(partitions=2)
    producer = SharedProducer(client_config(kafka.settings), client_id="tests", request_timeout_seconds=10, start_seconds=10,
                              max_request_bytes=1024 * 1024)
    try:
        futures = [
            producer.submit([Outgoing(small, b"a", b"1"), Outgoing(small, b"b", b"2" * 8000), Outgoing(roomy, b"c", b"3")]),
            producer.submit([Outgoing(small, b"d", b"4"), Outgoing(roomy, b"e", b"5")]),
        ]
        outcomes = [future.result(timeout=30) for future in futures]
    finally:
        producer.close()
    assert [[type(o).__name__ if o else None for o in each] for each in outcomes] == [[None, "MessageSizeTooLargeError", None], [None, None]]
    assert producer.failed
    assert sorted(r.value for r in kafka.read_all(small)) == [b"1", b"4"]
    assert sorted(r.value for r in kafka.read_all(roomy)) == [b"3", b"5"]
    closed = producer.submit([Outgoing(roomy, b"f", b"6")]).result(timeout=5)
    assert [type(o).__name__ for o in closed] == ["ProducerClosed"]
