"""One suite every target kind passes, as rules and as pipes use it (``eventpipes.targets.kinds.KINDS``).

Each kind gets a harness that stands up what it talks to (an in-memory sink for Kafka
writes, a real HTTP server on loopback, a module of callables, a temporary file) and reads
back what arrived. A new kind adds its harness here; the test below fails for a kind
without one, so no kind joins the table untested.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from eventpipes.records import OutRecord
from eventpipes.targets.adapters import BatchSender, EventSender
from eventpipes.targets.base import Item, TargetContext, TargetFailed, TargetSpec
from eventpipes.targets.build import make_target
from eventpipes.targets.kinds import KINDS, TargetKind
from eventpipes.targets.ratelimit import TokenBucket
from eventpipes.topology.model import ApiDestination, Connection

import kind_fixtures  # beside this file

EVENT = {"version": "0", "id": "e-1", "detail-type": "t", "source": "s", "account": "1", "time": "2026-12-04T00:00:00Z",
         "region": "us-east-1", "resources": [], "detail": {"n": 1}}


class MemorySink:
    """Keeps what it is asked to write; fails every call while ``down``."""

    def __init__(self) -> None:
        self.records: list[OutRecord] = []
        self.down = False

    async def send_all(self, records: list[OutRecord]) -> None:
        if self.down:
            raise ConnectionError("broker away")
        self.records.extend(records)


@dataclass
class Harness:
    """What one kind is pointed at, and how to read back what it received."""

    destination: str
    received: Callable[[], list[Any]]
    break_it: Callable[[], None]
    context: TargetContext
    broken_is_retryable: bool = True
    cleanup: list[Callable[[], Any]] = field(default_factory=list)


@asynccontextmanager
async def http_server() -> AsyncIterator[tuple[str, list[Any], dict[str, int]]]:
    bodies: list[Any] = []
    answer = {"status": 200}

    async def handle(request: web.Request) -> web.Response:
        bodies.append(json.loads(await request.read()))
        return web.Response(status=answer["status"], text="{}")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/in", bodies, answer
    finally:
        await runner.cleanup()


@asynccontextmanager
async def harness(kind: TargetKind, tmp_path: Path) -> AsyncIterator[Harness]:
    sink = MemorySink()

    async def put_events(entries: list[dict[str, Any]], bus: str) -> list[str | None]:
        if sink.down:
            return ["InternalFailure: broker away"] * len(entries)
        sink.records.extend(OutRecord(f"eventpipes.bus.{bus}", None, json.dumps(e).encode()) for e in entries)
        return [None] * len(entries)

    context = TargetContext(sink, "us-east-1", "123456789012", source_bus="orders", put_events=put_events,
                            ensure_topic=lambda topic: None)

    def down() -> None:
        sink.down = True

    if kind.name == "Topic":
        yield Harness("out", lambda: [json.loads(r.value) for r in sink.records if r.topic == "out"], down, context)
    elif kind.name == "EventBus":
        def on_bus() -> list[Any]:
            bodies = [json.loads(r.value) for r in sink.records if r.topic == "eventpipes.bus.billing"]
            return [json.loads(b["Detail"]) if "Detail" in b else b for b in bodies]
        yield Harness("billing", on_bus, down, context)
    elif kind.name in ("Http", "ApiDestination"):
        async with http_server() as (url, bodies, answer):
            def fail() -> None:
                answer["status"] = 503
            if kind.name == "Http":
                yield Harness(url, lambda: bodies, fail, context)
            else:
                destination = ApiDestination(Name="hook", ConnectionName="c", InvocationEndpoint=url, HttpMethod="POST")
                connection = Connection(Name="c", AuthorizationType="API_KEY",
                                        AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "k"}})
                bucket = TokenBucket(1000)
                context = TargetContext(sink, "us-east-1", "123456789012",
                                        api_destination=lambda name: (destination, connection, bucket))
                yield Harness("hook", lambda: bodies, fail, context)
    elif kind.name == "Function":
        kind_fixtures.received.clear()
        harness_ = Harness(f"{kind_fixtures.__name__}:accept", lambda: kind_fixtures.received, lambda: None, context)

        def crash() -> None:
            harness_.destination = f"{kind_fixtures.__name__}:crash"
        harness_.break_it = crash
        yield harness_
    elif kind.name == "File":
        path = tmp_path / "out.jsonl"

        def lines() -> list[Any]:
            return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

        file_harness = Harness(str(path), lines, lambda: None, context)

        def unwritable() -> None:  # a directory where the file should be (permissions do not stop root)
            file_harness.destination = str(tmp_path)
        file_harness.break_it = unwritable
        yield file_harness
    else:
        pytest.fail(f"target kind {kind.name} has no harness in this suite: add one")


def spec(kind: TargetKind, destination: str, origin: str) -> TargetSpec:
    return TargetSpec(kind, destination, origin, name="r1", source_label="SelfManagedKafka")  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", [k for k in KINDS if k.yaml_key], ids=lambda k: k.name)
def test_a_rule_delivers_each_event_to_every_kind(kind: TargetKind, tmp_path: Path) -> None:
    async def main() -> None:
        async with harness(kind, tmp_path) as h:
            sender = EventSender(make_target(spec(kind, h.destination, "rule"), h.context))
            raw = json.dumps(EVENT).encode()
            await sender.deliver(Item(payload=raw, key=b"e-1", raw_event=raw))
            await sender.close()
            assert h.received() == [EVENT]

    asyncio.run(main())


@pytest.mark.parametrize("kind", [k for k in KINDS if k.uri_prefixes], ids=lambda k: k.name)
def test_a_pipe_delivers_a_batch_in_order_to_every_kind(kind: TargetKind, tmp_path: Path) -> None:
    async def main() -> None:
        async with harness(kind, tmp_path) as h:
            sender = BatchSender(make_target(spec(kind, h.destination, "pipe"), h.context))
            values = [{"n": n} for n in range(5)]
            result = await sender.send(values, [f"id-{n}" for n in range(5)], [b"k"] * 5)
            await sender.close()
            assert result.ok
            received = h.received()
            assert received == values if kind.shape == "records" else received == [values]

    asyncio.run(main())


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_a_target_that_cannot_take_it_says_so_with_a_typed_retryable_failure(kind: TargetKind, tmp_path: Path) -> None:
    async def main() -> None:
        async with harness(kind, tmp_path) as h:
            h.break_it()
            origin = "rule" if kind.yaml_key else "pipe"
            target = make_target(spec(kind, h.destination, origin), h.context)
            raw = json.dumps(EVENT).encode()
            if kind.yaml_key:
                with pytest.raises(TargetFailed) as failure:
                    await EventSender(target).deliver(Item(payload=raw, key=b"e-1", raw_event=raw))
                assert failure.value.retryable is h.broken_is_retryable
            if kind.uri_prefixes:
                result = await BatchSender(target).send([{"n": 1}], ["id-1"], [b"k"])
                assert not result.ok and result.retryable is h.broken_is_retryable
            await target.close()

    asyncio.run(main())
