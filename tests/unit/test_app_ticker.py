"""A worker runs its schedule ticker beside its routers, stops it with itself, and stops when it fails."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, cast

import pytest

from eventpipes.app import Worker
from eventpipes.bus.metrics import Metrics
from eventpipes.kafka.schedule_ticker import ScheduleTicker, TickerFailed


class Runtime:
    """Stands for PartitionWorker: runs until stopped."""

    def __init__(self) -> None:
        self.stopped = asyncio.Event()

    async def run(self, on_ready: Callable[[], None] | None = None) -> None:
        if on_ready:
            on_ready()
        await self.stopped.wait()

    def stop(self) -> None:
        self.stopped.set()


class Ticker:
    """Stands for ScheduleTicker: fails after a moment if told to, else runs until stopped."""

    def __init__(self, fail: bool) -> None:
        self.fail, self.stopped = fail, asyncio.Event()

    async def run(self) -> None:
        if self.fail:
            await asyncio.sleep(0.01)
            raise TickerFailed("outputs of rule 'tick' failed")
        await self.stopped.wait()

    def stop(self) -> None:
        self.stopped.set()


class Sink:
    async def warm_up(self, topics: list[str]) -> None: ...
    async def stop(self) -> None: ...


class Archiving:
    def start(self) -> None: ...
    async def stop(self) -> None: ...


class Parts:
    def senders(self) -> list[Any]:
        return []


class Pipes:
    pipes: tuple[()] = ()

    def start(self, on_end: Any = None) -> None: ...
    def request_stop(self) -> None: ...
    async def stop(self) -> None: ...


def worker(ticker: Ticker) -> tuple[Worker, Runtime]:
    runtime = Runtime()
    built = Worker(cast(Any, runtime), cast(Any, Sink()), Metrics(), cast(Any, Parts()), None, cast(Any, Archiving()), [], cast(Any, Pipes()),
                   routing=True, ticker=cast(ScheduleTicker, ticker))
    return built, runtime


def test_a_failing_ticker_stops_the_worker_with_its_error() -> None:
    built, runtime = worker(Ticker(fail=True))
    with pytest.raises(TickerFailed, match="rule 'tick'"):
        asyncio.run(asyncio.wait_for(built.run(), 5))
    assert runtime.stopped.is_set()


def test_stopping_the_worker_stops_its_ticker() -> None:
    ticker = Ticker(fail=False)
    built, runtime = worker(ticker)

    async def run_then_stop() -> None:
        running = asyncio.create_task(built.run())
        await asyncio.sleep(0.05)
        built.stop()
        await asyncio.wait_for(running, 5)

    asyncio.run(run_then_stop())
    assert ticker.stopped.is_set() and runtime.stopped.is_set()
