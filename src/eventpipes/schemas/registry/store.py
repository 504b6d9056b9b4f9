"""The registry's storage: a Kafka log (``_schemas``) applied as a state machine.

Design, so that any number of registries agree without a leader:

- ``_schemas`` has one partition, so it has one order that every registry sees.
- A change (register, delete, config, mode) is not applied where it arrives: the registry
  writes it to the log as a request record (``model.Command``, keyed by a fresh request id)
  and every registry, the writer included, applies every record in log order with the same
  deterministic rules (``state.py``): the first record carrying a schema text gives it the
  next id, versions follow log order per subject, compatibility is checked at apply time.
- The registry that wrote a record answers its client only once it has applied that record
  itself (matched by the request id), with the outcome the rules gave. The answer therefore
  reflects every change ordered before it, on any registry.
- Two registrations of the same schema racing through two registries are two records; the
  first applied creates the id and the version, the second finds them: one id.
- A registry (re)starting reads the log from the beginning before serving, so it rebuilds
  exactly the state the others hold. Reads are served from local state and may lag writes
  made through another registry by the time it takes to read the log (milliseconds).
- Every record has its own key, so the topic's ``cleanup.policy=compact`` (chosen, as
  Confluent does, for retention without time limit) never removes one: replaying needs the
  whole history, as ids depend on it. Records the registry does not understand (another
  format, or Confluent's own records if the topic is shared) are skipped.

Rejected alternative: electing a leader that assigns ids (Confluent's way) needs a group
protocol and forwarding between registries; the log already gives the order for free.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError

from eventpipes.kafka.admin import Admin
from eventpipes.kafka.client_config import KafkaClientConfig
from eventpipes.kafka.errors import BrokerUnavailable
from eventpipes.kafka.topics import SCHEMAS_TOPIC, schemas_topic_spec
from eventpipes.schemas.registry import errors
from eventpipes.schemas.registry.model import Command, decode, encode
from eventpipes.schemas.registry.state import RegistryState

log = logging.getLogger(__name__)

#: A fetch waits at most this long for new records; the broker answers sooner when any arrive.
FETCH_MAX_WAIT_MS = 100


def new_request_id() -> str:
    """A fresh request id (also the record key)."""
    return uuid.uuid4().hex


class SchemaStore:
    """The state of one registry and the log it is applied from.

    Runs on one asyncio loop; ``state`` is read and changed only from that loop.
    """

    def __init__(self, kafka: KafkaClientConfig, topic: str = SCHEMAS_TOPIC, *, timeout_seconds: float = 10.0) -> None:
        self.kafka = kafka
        self.bootstrap = kafka.bootstrap
        self.topic = topic
        self.timeout_seconds = timeout_seconds
        self.state = RegistryState()
        self._partition = TopicPartition(topic, 0)
        self._pending: dict[str, asyncio.Future[object]] = {}
        self._producer: AIOKafkaProducer | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._follower: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Create the topic if needed, read it to its end, then follow it.

        Raises:
            BrokerUnavailable, TopicError: Kafka cannot be reached or refuses the topic.
        """
        await asyncio.to_thread(self._ensure_topic)
        timeout_ms = int(self.timeout_seconds * 1000)
        self._producer = AIOKafkaProducer(
            **self.kafka.aiokafka(), acks="all", request_timeout_ms=timeout_ms, client_id="eventpipes-registry"
        )
        self._consumer = AIOKafkaConsumer(
            **self.kafka.aiokafka(),
            group_id=None,
            enable_auto_commit=False,
            fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
            request_timeout_ms=max(timeout_ms, 2 * FETCH_MAX_WAIT_MS + 1000),
            client_id="eventpipes-registry",
        )
        try:
            await self._producer.start()
            await self._consumer.start()
        except KafkaError as exc:
            await self.stop()
            raise BrokerUnavailable(self.bootstrap, repr(exc)) from exc
        self._consumer.assign([self._partition])
        await self._consumer.seek_to_beginning(self._partition)
        await self._catch_up()
        self._follower = asyncio.create_task(self._follow(), name="schemas-follower")

    def _ensure_topic(self) -> None:
        with Admin(self.kafka, timeout_seconds=self.timeout_seconds) as admin:
            admin.ensure_topic(schemas_topic_spec(self.topic))

    async def _catch_up(self) -> None:
        assert self._consumer is not None
        end = (await self._consumer.end_offsets([self._partition]))[self._partition]
        while await self._consumer.position(self._partition) < end:
            await self._poll()
        log.info("schema registry state rebuilt from %s: %d records", self.topic, self.state.applied)

    async def _follow(self) -> None:
        while True:
            try:
                await self._poll()
            except asyncio.CancelledError:
                raise
            except KafkaError as exc:  # a broker restart: keep following, the consumer reconnects
                log.warning("reading %s failed: %r", self.topic, exc)
                await asyncio.sleep(0.5)

    async def _poll(self) -> None:
        assert self._consumer is not None
        batches = await self._consumer.getmany(self._partition, timeout_ms=500)
        for record in batches.get(self._partition, []):
            self._apply(record.key, record.value)

    def _apply(self, key: bytes | None, value: bytes | None) -> None:
        command = decode(value) if value is not None else None
        if command is None:
            log.warning("skipping a record of %s this registry does not understand (key %r)", self.topic, key)
            return
        outcome: object
        try:
            outcome = self.state.apply(command)
        except errors.RegistryError as exc:
            outcome = exc
        except Exception as exc:  # a bug must not stop the registry from following the log
            log.exception("applying %r failed", command)
            outcome = errors.StoreError(f"Error while applying the request: {exc}")
        waiter = self._pending.get(command.request_id)
        if waiter is not None and not waiter.done():
            if isinstance(outcome, BaseException):
                waiter.set_exception(outcome)
            else:
                waiter.set_result(outcome)

    async def submit(self, command: Command) -> object:
        """Write ``command`` to the log and return its outcome once applied here.

        Raises:
            RegistryError: the rules refused it (e.g. 409), or the log failed (50001, 50002).
        """
        assert self._producer is not None
        waiter: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self._pending[command.request_id] = waiter
        try:
            try:
                await asyncio.wait_for(
                    self._producer.send_and_wait(self.topic, encode(command), key=command.request_id.encode(), partition=0),
                    self.timeout_seconds,
                )
            except (KafkaError, TimeoutError) as exc:
                raise errors.StoreError(f"Error while writing to the schemas log: {exc!r}") from exc
            try:
                return await asyncio.wait_for(waiter, self.timeout_seconds)
            except TimeoutError as exc:
                raise errors.OperationTimedOut("The request was written but not applied in time") from exc
        finally:
            self._pending.pop(command.request_id, None)

    async def stop(self) -> None:
        """Stop following the log and close the Kafka clients."""
        if self._follower is not None:
            self._follower.cancel()
            try:
                await self._follower
            except (asyncio.CancelledError, Exception):
                pass
            self._follower = None
        for client in (self._producer, self._consumer):
            if client is not None:
                try:
                    await client.stop()
                except KafkaError as exc:
                    log.warning("closing a Kafka client failed: %r", exc)
        self._producer = self._consumer = None
