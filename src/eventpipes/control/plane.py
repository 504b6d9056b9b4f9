"""``ControlPlane``: EventBridge's and Pipes' operations on resources kept in Kafka.

``invoke("CreateEventBus", {...})`` takes and returns the AWS API's JSON shapes (as
botocore's service models define them; timestamps as epoch seconds, as the JSON protocols
send them) and raises a ``ControlPlaneError`` whose ``code`` and ``message`` are AWS's.
A read answers from this process's state once it has applied everything written before
the read; a change is written to the log and answered once applied (``log.py``).
"""

from __future__ import annotations

import base64
import binascii
import copy
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from kafka.errors import KafkaError, UnknownTopicOrPartitionError

from eventpipes.control.errors import InternalException
from eventpipes.control.log import ControlLog
from eventpipes.control.operation import Body, Context
from eventpipes.control.operations import operation_named, prepare
from eventpipes.control.snapshot import to_topology
from eventpipes.control.state import Request
from eventpipes.control import clients
from eventpipes.errors import ConfigurationError
from eventpipes.kafka.errors import BrokerUnavailable, TopicError
from eventpipes.kafka.topics import bus_topic, bus_topic_spec
from eventpipes.settings import Settings
from eventpipes.topology.model import Topology

log = logging.getLogger(__name__)

#: How often DeleteEventBus asks whether the bus's topic is gone from the metadata yet.
TOPIC_GONE_POLL_SECONDS = 0.05

#: follow() waits for a change at most this long before checking whether it was stopped.
FOLLOW_WAKE_SECONDS = 0.5


def control_key(settings: Settings) -> bytes | None:
    """The AES key in ``EVENTPIPES_CONTROL_KEY`` (base64 of 16, 24 or 32 bytes), or None if unset.

    Raises:
        ConfigurationError: set, but not base64 of an AES key (the message never shows the value).
    """
    if settings.control_key is None:
        return None
    try:
        key = base64.b64decode(settings.control_key.get_secret_value(), validate=True)
    except (binascii.Error, ValueError):
        raise ConfigurationError("EVENTPIPES_CONTROL_KEY is not base64") from None
    if len(key) not in (16, 24, 32):
        raise ConfigurationError(f"EVENTPIPES_CONTROL_KEY holds {len(key)} bytes; an AES key is 16, 24 or 32 bytes")
    return key


class ControlPlane:
    """One reader and writer of the control-plane store (thread-safe)."""

    def __init__(self, settings: Settings) -> None:
        """Read the store to its end (creating its topic if needed).

        Raises:
            BrokerUnavailable: Kafka did not answer.
            ConfigurationError: EVENTPIPES_CONTROL_KEY is set but is not a key.
        """
        self.settings = settings
        self.context = Context(region=settings.region, account=settings.account,
                               rules_per_bus=settings.rules_per_bus, key=control_key(settings),
                               functions=settings.function_registry)
        self._log = ControlLog(settings, self.context)
        self._admin = clients.admin(settings)
        self._followers: list[threading.Thread] = []

    def invoke(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        """One EventBridge or Pipes operation by its AWS name (``CreateEventBus``, ``PutRule``, ...).

        Raises:
            ControlPlaneError: ``code`` is AWS's error code, ``message`` AWS's message.
        """
        found = operation_named(operation)
        body = prepare(found, request, self.context)
        if found.read is not None:
            self._log.sync()
            with self._log.lock:
                return copy.deepcopy(found.read(self._log.state, body, self.context))
        deleting_bus = found.name == "DeleteEventBus" and self._stored_bus(body["Name"])
        response = self._log.submit(Request(uuid.uuid4().hex, found.name, body, int(time.time() * 1000)))
        self._after(found.name, body, deleting_bus)
        return copy.deepcopy(response)

    def _stored_bus(self, name: str) -> bool:
        """Whether the store holds bus ``name`` now (everything written before this call applied)."""
        self._log.sync()
        return self.bus_exists(name)

    def _after(self, operation: str, body: Body, deleting_bus: bool) -> None:
        """Kafka-side effects of an applied change (only the writer makes them; each is idempotent).

        A bus's topic is what makes it exist for PutEvents (``eventpipes.bus.existing``), so
        CreateEventBus creates it and DeleteEventBus of a bus the store held deletes it, once
        the bus and its rules are gone from the store. A DeleteEventBus of a bus the store does
        not hold changes nothing, as in EventBridge: a topic made by ``eventpipes run FILE`` for
        a bus only the file declares is left alone.
        """
        name = str(body.get("Name"))
        if operation == "CreateEventBus":
            try:
                self._admin.ensure_topic(bus_topic_spec(name, self.settings.bus_partitions))
            except (BrokerUnavailable, TopicError) as exc:
                raise InternalException(f"Event bus {name} was created but its topic was not: {exc.message}") from exc
        elif operation == "DeleteEventBus" and deleting_bus:
            self._delete_bus_topic(name)

    def _delete_bus_topic(self, name: str) -> None:
        """Delete the topic of a bus just deleted, unless the bus was created again meanwhile.

        Raises:
            InternalException: Kafka did not delete it. The bus is gone from the store but its
                topic remains, so PutEvents still accepts it: creating the bus again and deleting
                it deletes the topic (a DeleteEventBus of a bus not in the store touches nothing).
        """
        if self._stored_bus(name):  # created again since (by another writer): its topic is the new bus's
            return
        try:
            self._admin.delete_topic(bus_topic(name))
        except UnknownTopicOrPartitionError:
            pass  # already gone (another writer deleted it, or it was never made)
        except (KafkaError, BrokerUnavailable) as exc:
            raise InternalException(f"Event bus {name} was deleted but its topic {bus_topic(name)} was not ({exc!r}); "
                                    "create the bus again and delete it to delete the topic") from exc
        # Answer once the cluster's metadata no longer lists it: a PutEvents made after
        # DeleteEventBus answered then fails, rather than finding the topic still listed.
        deadline = time.monotonic() + self.settings.kafka_timeout_seconds
        while self._admin.existing_topics([bus_topic(name)]) and time.monotonic() < deadline:
            time.sleep(TOPIC_GONE_POLL_SECONDS)

    def bus_exists(self, name: str) -> bool:
        """Whether bus ``name`` exists, as this process has applied the store so far (no Kafka request)."""
        with self._log.lock:
            return name in self._log.state.buses

    def snapshot(self) -> Topology:
        """Everything in the store as a topology (what a worker runs)."""
        with self._log.lock:
            return to_topology(self._log.state, self.context)

    def follow(self, on_change: Callable[[Topology], None]) -> Callable[[], None]:
        """Call ``on_change(snapshot)`` in a thread of its own after every change applied here.

        Several changes applied close together may be seen as one snapshot (the latest).
        An exception in ``on_change`` is logged and following goes on.

        Returns:
            ``stop()``: stops following (waits for a call in progress to end).
        """
        stopped = threading.Event()
        with self._log.lock:
            seen = self._log.version

        def run() -> None:
            nonlocal seen
            while not stopped.is_set() and not self._log.closed:
                version = self._log.wait_for_change(seen, FOLLOW_WAKE_SECONDS)
                if version == seen or stopped.is_set():
                    continue
                seen = version
                try:
                    on_change(self.snapshot())
                except Exception:  # the caller's bug must not end following
                    log.exception("a control-plane follower failed")

        thread = threading.Thread(target=run, name="eventpipes-control-follow", daemon=True)
        thread.start()
        self._followers.append(thread)

        def stop() -> None:
            stopped.set()
            if thread is not threading.current_thread():
                thread.join(timeout=5)

        return stop

    def close(self) -> None:
        """Stop following the log (and every ``follow``) and close the Kafka clients."""
        self._log.close()
        for thread in self._followers:
            if thread is not threading.current_thread():
                thread.join(timeout=5)
        self._admin.close()

    def __enter__(self) -> "ControlPlane":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
