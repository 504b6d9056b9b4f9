"""The Faust application every eventpipes worker runs, configured for eventpipes' guarantees."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import faust

from eventpipes.records import OutRecord
from eventpipes.records import Record


def make_app(app_id: str, bootstrap: str, *, datadir: Path, web_port: int | None) -> faust.App:
    """A Faust app whose consumer group is ``app_id``.

    Raw bytes in and out (eventpipes decodes itself), acks=all, no leader topic,
    no tables; offsets start at the earliest record for partitions without a
    committed offset (``eventpipes run`` commits a starting point for new groups first).
    """
    brokers = ";".join(f"kafka://{server.strip()}" for server in bootstrap.split(","))
    return faust.App(
        app_id,
        broker=brokers,
        key_serializer="raw",
        value_serializer="raw",
        topic_disable_leader=True,
        topic_allow_declare=False,  # eventpipes creates every topic with its own partitions and configs
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        producer_max_request_size=4 * 1024 * 1024,
        broker_commit_interval=1.0,
        # A crashed worker's partitions move to the survivors after 10 s, not Faust's default 60 s.
        broker_session_timeout=10.0,
        broker_heartbeat_interval=3.0,
        stream_wait_empty=False,
        store="memory://",
        datadir=str(datadir),
        autodiscover=False,
        web_enabled=web_port is not None,
        web_port=web_port or 6066,
        web_bind="127.0.0.1",
    )


class FaustSink:
    """Produces through the app's producer and waits for Kafka's acknowledgement of every record."""

    def __init__(self, app: faust.App) -> None:
        self._app = app
        self._topics: dict[str, Any] = {}

    def _topic(self, name: str) -> Any:
        if name not in self._topics:
            self._topics[name] = self._app.topic(name, key_serializer="raw", value_serializer="raw")
        return self._topics[name]

    async def send_all(self, records: list[OutRecord]) -> None:
        # Buffer all first (in order), then wait for all acknowledgements: one round trip per batch.
        pending = [
            await self._topic(r.topic).send(key=r.key, value=r.value, headers=list(r.headers))
            for r in records
        ]
        await asyncio.gather(*pending)


def to_record(event: Any) -> Record:
    """eventpipes' ``Record`` from a Faust event."""
    message = event.message
    headers = message.headers or []
    if isinstance(headers, dict):
        headers = list(headers.items())
    return Record(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        timestamp_ms=int(message.timestamp * 1000),
        key=message.key,
        value=message.value,
        headers=tuple((k, bytes(v) if v is not None else b"") for k, v in headers),
    )
