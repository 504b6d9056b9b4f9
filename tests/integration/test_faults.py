"""Faults on a broker of the test's own: a restart under a long-lived PutEvents client.

The shared broker is never restarted (other tests use it); ``OwnBroker`` runs a second one.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from eventpipes.bus.put_events import EventBusClient
from eventpipes.kafka.errors import BrokerUnavailable
from eventpipes.kafka.topics import bus_topic
from eventpipes.testing import KafkaCluster, OwnBroker, connect, unique_name, wait_until

TIMEOUT = 3.0


def test_a_long_lived_client_stays_bounded_through_a_broker_restart_and_recovers(tmp_path: Path) -> None:
    broker = OwnBroker(tmp_path / "broker").start()
    settings = broker.settings.model_copy(update={"kafka_timeout_seconds": TIMEOUT})
    bus = unique_name("bus")
    made = KafkaCluster(settings)
    try:
        made.create_bus(bus)
    finally:
        made.close()
    calls: list[tuple[float, float, list[str | None]]] = []  # (start, seconds, event id or None per entry)
    stop = threading.Event()

    def stream() -> None:
        with EventBusClient(settings) as client:
            while not stop.is_set():
                entries = [{"Source": "tests", "DetailType": "t", "Detail": json.dumps({"n": n})} for n in range(10)]
                began = time.monotonic()
                try:
                    ids = [e.event_id for e in client.put_events(entries, bus=bus).entries]
                except BrokerUnavailable:  # no entry put: the call said so as a whole
                    ids = [None] * len(entries)
                calls.append((began, time.monotonic() - began, ids))

    producer = threading.Thread(target=stream, daemon=True)
    try:
        producer.start()
        wait_until(lambda: sum(all(ids) for _, _, ids in calls) >= 20, timeout=60, what="a steady stream")
        broker.stop()
        down_at = time.monotonic()
        time.sleep(4)  # the outage itself: a real broker restart takes seconds
        broker.start()
        back_at = time.monotonic()
        wait_until(lambda: any(start > back_at and all(ids) for start, _, ids in calls), timeout=30,
                   what="a whole call put after the broker came back")
        recovered_at = next(start for start, _, ids in calls if start > back_at and all(ids))
        stop.set()
        producer.join(timeout=30)
        assert not producer.is_alive(), "the client hung"
        cluster = connect(settings)
        try:
            on_bus = {json.loads(r.value or b"")["id"] for r in cluster.read_all(bus_topic(bus), timeout=10)}
        finally:
            cluster.close()
    finally:
        stop.set()
        broker.stop()
    longest = max(seconds for _, seconds, _ in calls)
    assert longest <= TIMEOUT + 1.0, f"a call took {longest:.1f} s, over EVENTPIPES_KAFKA_TIMEOUT={TIMEOUT} s"
    assert recovered_at - back_at < 2 * TIMEOUT + 1, f"recovered {recovered_at - back_at:.1f} s after the broker was back"
    reported_put = {event_id for _, _, ids in calls for event_id in ids if event_id}
    assert reported_put <= on_bus, f"{len(reported_put - on_bus)} entries reported put are not on the bus"
    assert any(not all(ids) for start, _, ids in calls if down_at <= start < back_at), "the outage failed no entry"
