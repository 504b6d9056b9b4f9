"""PackingProducer without Kafka: one batch per partition, one produce at a time packing the calls made meanwhile,
at most one per linger; failures reach every caller of that produce."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from eventpipes.faust.producer import PackingProducer
from eventpipes.kafka.client_config import KafkaClientConfig
from eventpipes.records import OutRecord


class Builder:
    def __init__(self, room: int) -> None:
        self.values: list[bytes] = []
        self.room = room

    def append(self, *, key: bytes | None, value: bytes, timestamp: int | None, headers: Any) -> object | None:
        if self.values and len(self.values) >= self.room:
            return None
        self.values.append(value)
        return object()


class GatedProducer:
    """Stands in for aiokafka's producer: each produce's acknowledgements wait for the test to open its gate."""

    def __init__(self, room: int = 100) -> None:
        self.room = room
        self.produces: list[dict[tuple[str, int | None], list[str]]] = []
        self.gates: list[asyncio.Future[None]] = []
        self.client = type("Client", (), {"cluster": type("Cluster", (), {"partitions_for_topic": lambda _, t: {0, 1}})()})()

    def create_batch(self) -> Builder:
        return Builder(self.room)

    def _current(self) -> dict[tuple[str, int | None], list[str]]:
        if not self.gates or self.gates[-1].done():  # a new produce starts with its first batch
            self.produces.append({})
            self.gates.append(asyncio.get_running_loop().create_future())
        return self.produces[-1]

    async def send_batch(self, batch: Builder, topic: str, *, partition: int) -> asyncio.Future[None]:
        self._current().setdefault((topic, partition), []).extend(v.decode() for v in batch.values)
        return self.gates[-1]

    async def send(self, topic: str, value: bytes, **kwargs: Any) -> asyncio.Future[None]:
        self._current().setdefault((topic, None), []).append(value.decode())
        return self.gates[-1]


def producer(fake: GatedProducer, linger: float = 0.0) -> PackingProducer:
    packing = PackingProducer(KafkaClientConfig(bootstrap="127.0.0.1:1"), linger=linger)
    packing._producer = fake  # type: ignore[assignment]
    return packing


def out(value: str, partition: int | None = 0, topic: str = "t", key: bytes | None = None) -> OutRecord:
    return OutRecord(topic, key, value.encode(), partition=partition)


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


def test_records_are_packed_per_partition_and_calls_made_meanwhile_go_out_together_in_order() -> None:
    async def run() -> None:
        fake = GatedProducer()
        sink = producer(fake)
        first = asyncio.ensure_future(sink.send_all([out("a1", 0), out("a2", 1), out("a3", 0)]))
        await settle()
        assert fake.produces == [{("t", 0): ["a1", "a3"], ("t", 1): ["a2"]}]  # an idle producer sends at once
        second = asyncio.ensure_future(sink.send_all(iter([out("b1", 0)])))
        third = asyncio.ensure_future(sink.send_all([out("c1", 1), out("c2", 0)]))
        await settle()
        assert len(fake.produces) == 1  # one produce in flight at a time
        fake.gates[0].set_result(None)
        await first
        await settle()
        assert fake.produces[1] == {("t", 0): ["b1", "c2"], ("t", 1): ["c1"]}
        assert not second.done() and not third.done()  # each returns once its produce is acknowledged
        fake.gates[1].set_result(None)
        await asyncio.gather(second, third)

    asyncio.run(run())


def test_a_full_batch_is_followed_by_another_of_the_same_partition_in_order() -> None:
    async def run() -> None:
        fake = GatedProducer(room=2)
        sink = producer(fake)
        done = asyncio.ensure_future(sink.send_all([out(str(n)) for n in range(5)]))
        await settle()
        assert fake.produces == [{("t", 0): ["0", "1", "2", "3", "4"]}]
        fake.gates[0].set_result(None)
        await done

    asyncio.run(run())


def test_a_keyed_record_goes_to_its_keys_partition_and_one_without_either_to_send() -> None:
    async def run() -> None:
        fake = GatedProducer()
        sink = producer(fake)
        done = asyncio.ensure_future(sink.send_all([out("keyed", None, key=b"e1"), out("loose", None, topic="u")]))
        await settle()
        from eventpipes.kafka.partitioning import partition_for_key

        assert fake.produces == [{("t", partition_for_key(b"e1", 2)): ["keyed"], ("u", None): ["loose"]}]
        fake.gates[0].set_result(None)
        await done

    asyncio.run(run())


def test_a_failed_produce_fails_every_call_it_carried_and_the_next_one_still_goes() -> None:
    async def run() -> None:
        fake = GatedProducer()
        sink = producer(fake)
        first = asyncio.ensure_future(sink.send_all([out("a")]))
        await settle()
        second = asyncio.ensure_future(sink.send_all([out("b")]))
        third = asyncio.ensure_future(sink.send_all([out("c")]))
        await settle()
        fake.gates[0].set_result(None)
        await first
        await settle()
        fake.gates[1].set_exception(OSError("broker gone"))
        for call in (second, third):
            with pytest.raises(OSError, match="broker gone"):
                await call
        again = asyncio.ensure_future(sink.send_all([out("b")]))
        await settle()
        assert fake.produces[-1] == {("t", 0): ["b"]}
        fake.gates[2].set_result(None)
        await again

    asyncio.run(run())


def test_a_caller_that_gives_up_does_not_cancel_the_produce_of_the_others() -> None:
    async def run() -> None:
        fake = GatedProducer()
        sink = producer(fake)
        first = asyncio.ensure_future(sink.send_all([out("a")]))
        await settle()
        second = asyncio.ensure_future(sink.send_all([out("b")]))
        third = asyncio.ensure_future(sink.send_all([out("c")]))
        await settle()
        second.cancel()
        fake.gates[0].set_result(None)
        await first
        await settle()
        assert fake.produces[1] == {("t", 0): ["b", "c"]}  # b was packed: produced (a duplicate at worst, never lost)
        fake.gates[1].set_result(None)
        await third

    asyncio.run(run())


def test_under_load_produces_start_at_most_once_per_linger() -> None:
    async def run() -> None:
        loop = asyncio.get_running_loop()
        fake = GatedProducer()
        starts: list[float] = []
        sent = fake.send_batch

        async def timed(batch: Builder, topic: str, *, partition: int) -> asyncio.Future[None]:
            starts.append(loop.time())
            gate = await sent(batch, topic, partition=partition)
            gate.set_result(None) if not gate.done() else None
            return gate

        fake.send_batch = timed  # type: ignore[method-assign]
        sink = producer(fake, linger=0.05)
        began = loop.time()
        await sink.send_all([out("a")])  # idle: at once
        await asyncio.gather(*(sink.send_all([out(str(n))]) for n in range(5)))  # one produce, a linger later
        assert len(starts) == 2 and len(fake.produces) == 2
        assert starts[0] - began < 0.04
        assert starts[1] - starts[0] >= 0.049

    asyncio.run(run())


def test_nothing_to_send_returns_at_once() -> None:
    async def run() -> None:
        fake = GatedProducer()
        await producer(fake).send_all([])
        assert fake.produces == []

    asyncio.run(run())


def test_a_producer_that_cannot_start_fails_the_call_and_the_next_call_tries_again(recwarn: pytest.WarningsRecorder) -> None:
    from aiokafka.errors import KafkaConnectionError

    async def run() -> None:
        sink = PackingProducer(KafkaClientConfig(bootstrap="127.0.0.1:1"), linger=0.0)
        for _ in range(2):
            with pytest.raises(KafkaConnectionError):
                await sink.send_all([out("a")])
        await sink.stop()

    asyncio.run(run())
    assert not [w for w in recwarn if "Unclosed" in str(w.message)]
