"""Unique names without a server: claims in a one-partition log, decided by log order.

A writer that must be the only one to create a name (an archive) appends a ``claim``
record (key: a fresh id) and reads the log up to its own record; the rules below, applied
to the records in log order, say whether it won. Every claimant applies the same rules to
the same prefix of the log, so of two racing claims exactly one wins, the first in log
order, whatever process made it: this is the control plane's request log reduced to the
one decision archive definitions need (``eventpipes.control.log``).

Rules (``decide``, pure):

- ``claim N`` wins when no live claim holds N; it then holds N.
- ``confirm N`` (written by the winner once the resource exists) makes its claim permanent.
- ``release N`` (written when the resource is deleted) frees N.
- An unconfirmed claim older than ``CLAIM_TTL_MS`` (by the records' own times, so every
  reader agrees) no longer holds N: a writer that won and then died before creating the
  resource does not block the name for ever.

Every record has its own key, so compaction never removes one.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

from eventpipes.kafka.admin import Admin
from eventpipes.kafka.client_config import KafkaClientConfig
from eventpipes.kafka.errors import BrokerUnavailable
from eventpipes.kafka.producer import make_producer
from eventpipes.kafka.topics import claims_topic_spec

#: How long a won, unconfirmed claim holds its name. Long enough for the winner to create
#: topics (two creations of at most 30 s each) and write the definition, with room.
CLAIM_TTL_MS: Final = 300_000

Op = Literal["claim", "confirm", "release"]


@dataclass(frozen=True, slots=True)
class ClaimRecord:
    op: Op
    name: str
    claim_id: str
    """The claim's id (the record key of a claim; the claim confirmed or the releaser's own id otherwise)."""
    time_ms: int

    def encode(self) -> bytes:
        return json.dumps({"op": self.op, "name": self.name, "id": self.claim_id, "time": self.time_ms}).encode()

    @classmethod
    def decode(cls, data: bytes | None) -> "ClaimRecord | None":
        try:
            body = json.loads(data or b"")
            return cls(body["op"], body["name"], body["id"], int(body["time"]))
        except (ValueError, KeyError, TypeError):
            return None


def decide(records: Iterable[ClaimRecord], claim_id: str) -> bool:
    """Whether claim ``claim_id`` won, given the log's records up to (at least) it, in order."""
    holders: dict[str, tuple[str, int, bool]] = {}  # name -> (claim id, time, confirmed)
    for record in records:
        held = holders.get(record.name)
        if record.op == "claim":
            free = held is None or (not held[2] and held[1] + CLAIM_TTL_MS <= record.time_ms)
            if free:
                holders[record.name] = (record.claim_id, record.time_ms, False)
            if record.claim_id == claim_id:
                return free
        elif record.op == "confirm" and held is not None and held[0] == record.claim_id:
            holders[record.name] = (held[0], held[1], True)
        elif record.op == "release":
            holders.pop(record.name, None)
    return False


class NameClaims:
    """Claims, confirmations and releases of names in one claims topic."""

    def __init__(self, kafka: KafkaClientConfig, topic: str, *, timeout_seconds: float = 10.0) -> None:
        self.kafka = kafka
        self.bootstrap = kafka.bootstrap
        self.topic = topic
        self.timeout_seconds = timeout_seconds
        with Admin(kafka, timeout_seconds=timeout_seconds) as admin:
            admin.ensure_topic(claims_topic_spec(topic))
        self._producer: KafkaProducer | None = None

    def claim(self, name: str) -> str | None:
        """Claim ``name``: its claim id if this claim won, None if another holds it.

        Raises:
            BrokerUnavailable: the claim could not be written or read back.
        """
        claim_id = uuid.uuid4().hex
        offset = self._append(ClaimRecord("claim", name, claim_id, _now_ms()))
        return claim_id if decide(self._read_to(offset), claim_id) else None

    def confirm(self, name: str, claim_id: str) -> None:
        """The claimed resource exists: the claim holds ``name`` until released."""
        self._append(ClaimRecord("confirm", name, claim_id, _now_ms()))

    def release(self, name: str) -> None:
        """The resource was deleted: ``name`` may be claimed again."""
        self._append(ClaimRecord("release", name, uuid.uuid4().hex, _now_ms()))

    def _append(self, record: ClaimRecord) -> int:
        try:
            if self._producer is None:
                self._producer = make_producer(self.kafka, timeout_seconds=self.timeout_seconds)
            metadata = self._producer.send(self.topic, key=uuid.uuid4().hex.encode(), value=record.encode(), partition=0)
            return int(metadata.get(timeout=2 * self.timeout_seconds).offset)
        except KafkaError as exc:
            raise BrokerUnavailable(self.bootstrap, f"writing to {self.topic}: {exc!r}") from exc

    def _read_to(self, offset: int) -> list[ClaimRecord]:
        """Every record up to and including ``offset``, in log order."""
        records: list[ClaimRecord] = []
        deadline = time.monotonic() + 2 * self.timeout_seconds
        try:
            consumer = KafkaConsumer(**self.kafka.kafka_python(), group_id=None, enable_auto_commit=False,
                                     client_id="eventpipes-claims")
        except (KafkaError, OSError) as exc:
            raise BrokerUnavailable(self.bootstrap, repr(exc)) from exc
        try:
            partition = TopicPartition(self.topic, 0)
            consumer.assign([partition])
            consumer.seek_to_beginning(partition)
            while consumer.position(partition) <= offset:
                if time.monotonic() > deadline:
                    raise BrokerUnavailable(self.bootstrap, f"{self.topic} was not read up to offset {offset} in time")
                for batch in consumer.poll(timeout_ms=200).values():
                    records.extend(r for m in batch if m.offset <= offset and (r := ClaimRecord.decode(m.value)) is not None)
        finally:
            consumer.close()
        return records

    def close(self) -> None:
        if self._producer is not None:
            self._producer.close(timeout=5)
            self._producer = None


def _now_ms() -> int:
    return int(time.time() * 1000)
