"""Which buses exist as PutEvents sees them: the default bus always, others while their topic does."""

from __future__ import annotations

from typing import Any

import pytest

from eventpipes.bus.existing import RECHECK_SECONDS, KnownBuses
from eventpipes.kafka.errors import BrokerUnavailable
from eventpipes.kafka.topics import bus_topic


class FakeAdmin:
    """Topics that exist, and every request made about them."""

    def __init__(self, *topics: str) -> None:
        self.topics = set(topics)
        self.asked: list[list[str]] = []
        self.ensured: list[str] = []

    def existing_topics(self, names: list[str]) -> set[str]:
        self.asked.append(list(names))
        return self.topics & set(names)

    def ensure_topic(self, spec: Any) -> None:
        self.ensured.append(spec.name)
        self.topics.add(spec.name)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def known(admin: FakeAdmin, clock: Clock) -> KnownBuses:
    return KnownBuses(admin, partitions=3, clock=clock)  # type: ignore[arg-type]


def test_missing_buses_are_named_and_never_created() -> None:
    admin = FakeAdmin(bus_topic("orders"))
    assert known(admin, Clock()).missing(["orders", "ordres"]) == {"ordres"}
    assert admin.ensured == [] and admin.asked == [[bus_topic("orders"), bus_topic("ordres")]]


def test_the_default_bus_always_exists_its_topic_ensured() -> None:
    admin = FakeAdmin()
    assert known(admin, Clock()).missing(["default"]) == set()
    assert admin.ensured == [bus_topic("default")] and admin.asked == []


def test_a_missing_answer_is_asked_again_on_the_next_call() -> None:
    admin, clock = FakeAdmin(), Clock()
    buses = known(admin, clock)
    assert buses.missing(["orders"]) == {"orders"}
    admin.topics.add(bus_topic("orders"))  # CreateEventBus, a moment later
    assert buses.missing(["orders"]) == set()
    assert len(admin.asked) == 2


def test_a_present_answer_is_believed_for_a_while_then_asked_again() -> None:
    admin, clock = FakeAdmin(bus_topic("orders")), Clock()
    buses = known(admin, clock)
    assert buses.missing(["orders"]) == set()
    admin.topics.clear()  # DeleteEventBus
    clock.now += RECHECK_SECONDS / 2
    assert buses.missing(["orders"]) == set() and len(admin.asked) == 1  # no request within the second
    clock.now += RECHECK_SECONDS / 2
    assert buses.missing(["orders"]) == {"orders"} and len(admin.asked) == 2


def test_no_request_when_every_bus_is_known() -> None:
    admin, clock = FakeAdmin(bus_topic("a"), bus_topic("b")), Clock()
    buses = known(admin, clock)
    buses.missing(["a", "b"])
    buses.missing(["b", "default", "a"])
    assert admin.asked == [[bus_topic("a"), bus_topic("b")]]


def test_an_unanswered_lookup_fails_and_drops_the_admin_connection() -> None:
    class Down(FakeAdmin):
        closed = 0

        def existing_topics(self, names: list[str]) -> set[str]:
            raise BrokerUnavailable("127.0.0.1:9092", "down")

        def close(self) -> None:
            self.closed += 1

    admin = Down()
    with pytest.raises(BrokerUnavailable):
        known(admin, Clock()).missing(["orders"])
    assert admin.closed == 1  # the next call connects afresh rather than waiting out a grown backoff
