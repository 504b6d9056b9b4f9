"""Which event buses exist, as the data plane sees them: a bus exists iff its topic does.

PutEvents and ``eventpipes tail`` ask here before they touch a bus topic, so that a
misspelled bus name fails (``ResourceNotFoundException``) instead of creating a bus. The
``default`` bus always exists: its topic is created when first needed. Every other bus
topic is made by CreateEventBus or by ``eventpipes run FILE`` for the buses a file
declares, never here.

Answers are cached per client. A bus seen missing is asked about again on the next call,
so a bus created a moment ago is seen at once. A bus seen present is believed for
``RECHECK_SECONDS``, then asked about again: DeleteEventBus deletes the topic, and a
client that went on believing in it would send to a topic that is gone (each such entry
waits out the call and fails with ``InternalFailure``); re-asking bounds that to the
first second after a deletion, for one metadata request per bus per second.

The lookups are metadata requests that never ask the broker to create a topic (a broker
with ``auto.create.topics.enable=true`` creates topics a client merely asks about).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

from eventpipes.arns import DEFAULT_BUS
from eventpipes.kafka.admin import Admin
from eventpipes.kafka.errors import BrokerUnavailable
from eventpipes.kafka.topics import bus_topic, bus_topic_spec

#: How long a bus seen present is believed. Rejected: believing it for the client's life
#: (a long-lived client, such as the AWS endpoint's, would send to a deleted bus for ever)
#: and asking on every call (a metadata round trip added to every PutEvents).
RECHECK_SECONDS = 1.0


class KnownBuses:
    """The buses one client has seen exist (thread-safe)."""

    def __init__(self, admin: Admin, *, partitions: int, clock: Callable[[], float] = time.monotonic,
                 recheck_seconds: float = RECHECK_SECONDS) -> None:
        """Args:
            admin: the client's admin connection (its lookups never create a topic).
            partitions: the default bus's partitions, should its topic have to be created.
            clock: monotonic seconds (a test's own clock).
            recheck_seconds: how long a bus seen present is believed.
        """
        self._admin = admin
        self._partitions = partitions
        self._clock = clock
        self._recheck = recheck_seconds
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def missing(self, buses: Iterable[str]) -> set[str]:
        """Those of ``buses`` that do not exist now; creates the default bus's topic if it has none.

        Raises:
            BrokerUnavailable: Kafka did not answer.
            TopicError: the default bus's topic could not be created.
        """
        names = set(buses)
        if DEFAULT_BUS in names:
            self._admin.ensure_topic(bus_topic_spec(DEFAULT_BUS, self._partitions))  # remembered by the admin
            names.discard(DEFAULT_BUS)
        now = self._clock()
        with self._lock:
            unsure = {name for name in names if now - self._seen.get(name, -float("inf")) >= self._recheck}
        if not unsure:
            return set()
        try:
            present = self._admin.existing_topics([bus_topic(name) for name in sorted(unsure)])
        except BrokerUnavailable:
            # Through an outage the admin client's reconnect backoff grows (to 7 s in the
            # broker-restart test), which held the first calls after the broker came back:
            # the next call connects afresh instead, as PutEvents does with its producer.
            self._admin.close()
            raise
        gone = {name for name in unsure if bus_topic(name) not in present}
        with self._lock:
            for name in unsure:
                if name in gone:
                    self._seen.pop(name, None)
                else:
                    self._seen[name] = now
        return gone
