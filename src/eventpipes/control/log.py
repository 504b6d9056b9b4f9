"""The control plane's log in Kafka: writing requests, and applying every record in order.

Design (the schema registry's store works the same way, ``schemas/registry/store.py``):

- The topic has one partition, so it has one order that every reader sees.
- A change is not applied where it arrives: the writer appends it as a request record
  (key: a fresh request id) and every reader, the writer included, applies every record in
  log order with the same deterministic rules (``operations.apply``).
- The writer answers its caller only once it has applied its own record, with the outcome
  the rules gave; two clients racing to create one name therefore get one winner and one
  ``ResourceAlreadyExistsException``, whichever process each wrote through.
- A reader (re)starting applies the log from the beginning before it answers anything, so
  it rebuilds exactly the state the others hold. Reads first wait until the reader has
  applied everything written before the read began (one offsets request), so a describe
  after a create made through another process sees it.
- Every record has its own key, so compaction never removes one; records this version
  does not understand are skipped with a warning.

Threads: one follower thread owns the consumer and is the only writer of the state; callers
read the state under ``lock``. The producer is thread-safe; end offsets are asked through
a second consumer of their own, under a lock.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kafka import TopicPartition
from kafka.errors import KafkaError

from eventpipes.control import clients
from eventpipes.control.errors import ControlPlaneError, InternalException, UnknownOperationException
from eventpipes.control.operation import Body, Context
from eventpipes.control.operations import apply
from eventpipes.control.state import ControlState, Request
from eventpipes.kafka.errors import BrokerUnavailable
from eventpipes.kafka.topics import control_topic_spec
from eventpipes.settings import Settings

log = logging.getLogger(__name__)

#: One poll of the follower waits at most this long, so close() is noticed promptly.
POLL_MS = 200


@dataclass
class _Waiter:
    done: threading.Event = field(default_factory=threading.Event)
    outcome: Body | ControlPlaneError | None = None


class ControlLog:
    """The state of one reader and the log it is applied from (see the module docstring)."""

    def __init__(self, settings: Settings, context: Context) -> None:
        self.settings = settings
        self.topic = settings.control_topic
        self.context = context
        self.state = ControlState()
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        """Notified (holding ``lock``) after every record applied."""
        self.version = 0
        """Changes applied (requests the rules accepted); followers compare it."""
        self._position = 0
        self._pending: dict[str, _Waiter] = {}
        self._partition = TopicPartition(self.topic, 0)
        self._stopping = threading.Event()
        self._probe_lock = threading.Lock()
        self._producer: Any = None
        self._consumer: Any = None
        self._probe: Any = None
        try:
            with clients.admin(settings) as admin:
                admin.ensure_topic(control_topic_spec(self.topic))
            self._producer = clients.producer(settings)
            self._consumer = clients.consumer(settings)
            self._probe = clients.consumer(settings)
            self._catch_up()
        except (KafkaError, OSError, InternalException) as exc:
            self._close_clients()
            raise BrokerUnavailable(settings.bootstrap_servers, f"reading the control topic {self.topic}: {exc!r}") from exc
        except BaseException:
            self._close_clients()
            raise
        self._thread = threading.Thread(target=self._follow, name="eventpipes-control-follower", daemon=True)
        self._thread.start()

    # -- following ----------------------------------------------------------------

    def _catch_up(self) -> None:
        """Apply the log from its beginning up to its end now (before answering anything)."""
        self._consumer.assign([self._partition])
        self._consumer.seek_to_beginning(self._partition)
        end = self._end_offset()
        deadline = time.monotonic() + 2 * self.settings.kafka_timeout_seconds
        while self._position < end:
            if time.monotonic() > deadline:  # a log that grows no faster than this is read well within it
                raise InternalException(f"the control topic {self.topic} was not read to offset {end} in time")
            self._poll()
        log.info("control plane state rebuilt from %s: %d records", self.topic, self._position)

    def _end_offset(self) -> int:
        with self._probe_lock:
            try:
                return int(self._probe.end_offsets([self._partition])[self._partition])
            except (KafkaError, OSError) as exc:
                raise InternalException(f"Cannot read the control topic {self.topic}: {exc!r}") from exc

    def _follow(self) -> None:
        while not self._stopping.is_set():
            try:
                self._poll()
            except KafkaError as exc:  # a broker restart: keep following, the consumer reconnects
                log.warning("reading %s failed: %r", self.topic, exc)
                self._stopping.wait(0.5)
            except Exception:  # anything else must not end following either: writers wait on it
                log.exception("following %s failed; trying again", self.topic)
                self._stopping.wait(0.5)

    def _poll(self) -> None:
        batches = self._consumer.poll(timeout_ms=POLL_MS)
        for record in batches.get(self._partition, []):
            self._apply(record.offset, record.value)
        # The consumer's position, not only the last record's offset + 1: offsets with no record
        # to return (a control record, anything compaction removed) must not hold sync() back.
        position = int(self._consumer.position(self._partition))
        with self.changed:
            if position > self._position:
                self._position = position
                self.changed.notify_all()

    def _apply(self, offset: int, value: bytes | None) -> None:
        request = Request.decode(value) if value is not None else None
        with self.changed:
            outcome: Body | ControlPlaneError
            if request is None:
                log.warning("skipping a record of %s at offset %d this version does not understand", self.topic, offset)
            else:
                try:
                    outcome = apply(self.state, request, self.context)
                    self.version += 1
                except UnknownOperationException as exc:  # written by a newer version: this reader cannot apply it
                    log.warning("skipping %s at offset %d of %s: %s", request.operation, offset, self.topic, exc.message)
                    outcome = exc
                except ControlPlaneError as exc:
                    outcome = exc
                except Exception as exc:  # a bug must not stop this reader from following the log
                    log.exception("applying %s %s failed", request.operation, request.request_id)
                    outcome = InternalException(f"Error while applying the request: {exc}")
                waiter = self._pending.get(request.request_id)
                if waiter is not None:
                    waiter.outcome = outcome
                    waiter.done.set()
            self._position = offset + 1
            self.changed.notify_all()

    # -- writing and reading -----------------------------------------------------------

    def submit(self, request: Request) -> Body:
        """Append ``request`` and return its outcome once this reader applied it.

        Raises:
            ControlPlaneError: the rules refused it; InternalException: Kafka failed or it was
                not applied in time (it may still be applied later).
        """
        waiter = _Waiter()
        timeout = self.settings.kafka_timeout_seconds
        self._pending[request.request_id] = waiter
        try:
            try:
                future = self._producer.send(self.topic, key=request.request_id.encode(), value=request.encode(), partition=0)
                future.get(timeout=2 * timeout)
            except (KafkaError, OSError) as exc:
                raise InternalException(f"Cannot write to the control topic {self.topic}: {exc!r}") from exc
            if not waiter.done.wait(2 * timeout):
                raise InternalException("The request was written but not applied in time; describe the resource to see whether it was.")
            assert waiter.outcome is not None
            if isinstance(waiter.outcome, ControlPlaneError):
                raise waiter.outcome
            return waiter.outcome
        finally:
            self._pending.pop(request.request_id, None)

    def sync(self) -> None:
        """Wait until every record written before this call is applied here.

        Raises:
            InternalException: Kafka did not answer, or the follower fell behind for a whole timeout.
        """
        end = self._end_offset()
        deadline = time.monotonic() + 2 * self.settings.kafka_timeout_seconds
        with self.changed:
            while self._position < end:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise InternalException(f"The control topic {self.topic} could not be read up to its end in time.")
                self.changed.wait(remaining)

    @property
    def closed(self) -> bool:
        return self._stopping.is_set()

    def wait_for_change(self, seen: int, timeout: float) -> int:
        """The version once it passes ``seen``, or ``seen`` after ``timeout`` seconds (at once when closed)."""
        with self.changed:
            self.changed.wait_for(lambda: self.version != seen or self._stopping.is_set(), timeout)
            return self.version

    def close(self) -> None:
        self._stopping.set()
        with self.changed:
            self.changed.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._close_clients()

    def _close_clients(self) -> None:
        for client in (self._consumer, self._probe):
            if client is not None:
                try:
                    client.close()
                except (KafkaError, OSError) as exc:
                    log.warning("closing a Kafka client failed: %r", exc)
        if self._producer is not None:
            try:
                self._producer.close(timeout=5)
            except (KafkaError, OSError) as exc:
                log.warning("closing the producer failed: %r", exc)
        self._consumer = self._probe = self._producer = None


__all__ = ["ControlLog"]
