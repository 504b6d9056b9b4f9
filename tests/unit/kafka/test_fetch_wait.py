"""The worker's fetch wait follows its traffic: short while records come, long once idle."""

from __future__ import annotations

import inspect
from types import SimpleNamespace

from aiokafka.consumer.fetcher import Fetcher

from eventpipes.kafka.fetch_wait import FetchWait, fetcher_of


def consumer(wait_ms: int = 10) -> SimpleNamespace:
    return SimpleNamespace(_fetcher=SimpleNamespace(_fetch_max_wait_ms=wait_ms))


def test_fetches_wait_long_after_a_quiet_spell_and_short_from_the_first_record_on() -> None:
    c, wait = consumer(), FetchWait(10, idle_ms=500, idle_after=2.0)
    wait.saw(c, False, 100.0)
    wait.saw(c, False, 101.9)
    assert (c._fetcher._fetch_max_wait_ms, wait.idle) == (10, False)
    wait.saw(c, False, 102.0)
    assert (c._fetcher._fetch_max_wait_ms, wait.idle) == (500, True)
    wait.saw(c, True, 150.0)
    assert (c._fetcher._fetch_max_wait_ms, wait.idle) == (10, False)
    wait.saw(c, False, 151.0)  # the quiet spell counts from the last record
    assert c._fetcher._fetch_max_wait_ms == 10


def test_steady_traffic_never_switches() -> None:
    c, wait = consumer(), FetchWait(10, idle_ms=500, idle_after=2.0)
    for tenth in range(200):
        wait.saw(c, tenth % 10 == 0, 100.0 + tenth / 10)  # a record a second
    assert c._fetcher._fetch_max_wait_ms == 10


def test_a_consumer_without_the_fetcher_attribute_is_left_alone() -> None:
    bare = SimpleNamespace()
    wait = FetchWait(10, idle_ms=500, idle_after=0.0)
    wait.saw(bare, False, 0.0)
    wait.saw(bare, False, 1.0)
    assert fetcher_of(bare) is None and not hasattr(bare, "_fetcher")


def test_aiokafka_builds_each_fetch_from_the_attribute_set_here() -> None:
    # If aiokafka renames it, the idle worker quietly goes back to 100 fetches a second: fail here instead.
    assert "self._fetch_max_wait_ms" in inspect.getsource(Fetcher._get_actions_per_node)
    assert "self._fetch_max_wait_ms" in inspect.getsource(Fetcher.__init__)
