"""Enrichments and targets of a pipe, one class per kind, each keeping the contract in
:mod:`eventpipes.pipes.protocols`.

* ``function:<module>:<callable>``: called with the batch (a list); sync callables run in a
  worker thread so they cannot stall the event loop. A returned partial batch response is
  read under EventBridge's rules; raising :class:`~eventpipes.errors.NonRetryableError`
  is a failure retrying cannot fix (dead-lettered without retries).
* ``http(s)://``: the batch is POSTed as a JSON array; the JSON answer is the enrichment's
  result or the target's partial batch response. 429, 5xx, 401, 407, 409 and connection
  errors are retried, other 4xx are not (EventBridge's rule for API destinations).
* ``topic:<name>``: one Kafka record per payload, keyed by its source record's key,
  acknowledged by every in-sync replica before the batch counts as delivered.
* ``bus:<name>``: one event per payload through PutEvents (10 entries per call), the
  payload as ``Detail``; an entry Kafka did not take fails the batch.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Callable
from typing import Any

import aiohttp
from aiokafka import AIOKafkaProducer

from eventpipes.bus.put_events import EventBusClient
from eventpipes.bus.targets.function import load_function
from eventpipes.errors import NonRetryableError
from eventpipes.kafka.admin import Admin
from eventpipes.kafka.topics import internal_topic_spec
from eventpipes.pipes.errors import InvocationFailed
from eventpipes.pipes.failures import BatchResult, result_from_response
from eventpipes.pipes.model import Pipe
from eventpipes.pipes.protocols import Enrichment, Target
from eventpipes.retry import DlqErrorCode
from eventpipes.settings import Settings

#: EventBridge gives an HTTP endpoint 5 seconds; a batch of up to 6 MB gets a little more.
HTTP_TIMEOUT_SECONDS = 10.0
RETRYABLE_STATUSES = frozenset({401, 407, 409, 429})
PUT_EVENTS_MAX = 10


def to_bytes(payload: Any) -> bytes:
    """A payload as record bytes: text as UTF-8, anything else as compact JSON."""
    if isinstance(payload, str):
        return payload.encode()
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


async def _call(function: Callable[..., Any], spec: str, argument: Any, is_async: bool) -> Any:
    try:
        if is_async:
            return await function(argument)
        return await asyncio.to_thread(function, argument)
    except NonRetryableError as exc:
        raise InvocationFailed(f"{spec} refused the batch: {exc.message}", retryable=False) from exc
    except InvocationFailed:
        raise
    except Exception as exc:
        raise InvocationFailed(f"{spec} raised {exc!r}") from exc


class FunctionInvoker:
    """A Python callable as enrichment or target."""

    def __init__(self, uri: str) -> None:
        self._spec = uri.removeprefix("function:")
        self._function = load_function(self._spec)
        # Looked up once: inspect's check cost ~2% of a no-op pipe when made per batch.
        self._is_async = inspect.iscoroutinefunction(self._function)

    async def enrich(self, batch: list[Any]) -> Any:
        return await _call(self._function, self._spec, batch, self._is_async)

    async def invoke(self, payloads: list[Any], ids: list[str] | None) -> BatchResult:
        response = await _call(self._function, self._spec, payloads, self._is_async)
        return result_from_response(response, ids or [])

    async def close(self) -> None:
        return None


class HttpInvoker:
    """An HTTP endpoint as enrichment or target."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._session: aiohttp.ClientSession | None = None

    async def _post(self, batch: list[Any]) -> Any:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            async with self._session.post(
                self._url, data=to_bytes(batch), headers={"Content-Type": "application/json; charset=utf-8"},
                timeout=aiohttp.ClientTimeout(total=HTTP_TIMEOUT_SECONDS),
            ) as response:
                text = await response.text(errors="replace")
                status = response.status
        except asyncio.TimeoutError as exc:
            raise InvocationFailed(f"POST {self._url} timed out", code=DlqErrorCode.TIMEOUT) from exc
        except aiohttp.ClientError as exc:
            raise InvocationFailed(f"POST {self._url} failed: {exc!r}", code=DlqErrorCode.CONNECTION_FAILURE) from exc
        if status >= 300:
            retryable = status in RETRYABLE_STATUSES or status >= 500
            code = DlqErrorCode.THROTTLING if status == 429 else DlqErrorCode.ERROR_FROM_TARGET
            raise InvocationFailed(f"POST {self._url} answered {status}: {text[:200]}", code=code, retryable=retryable)
        if not text.strip():
            return None
        try:
            return json.loads(text)
        except ValueError:
            return text

    async def enrich(self, batch: list[Any]) -> Any:
        return await self._post(batch)

    async def invoke(self, payloads: list[Any], ids: list[str] | None) -> BatchResult:
        return result_from_response(await self._post(payloads), ids or [])

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


class TopicInvoker:
    """A Kafka topic as target."""

    def __init__(self, producer: AIOKafkaProducer, topic: str) -> None:
        self._producer = producer
        self._topic = topic

    async def invoke(self, payloads: list[Any], ids: list[str] | None, keys: list[bytes | None] | None = None) -> BatchResult:
        futures = [await self._producer.send(self._topic, to_bytes(p), key=keys[i] if keys else None)
                   for i, p in enumerate(payloads)]
        try:
            await asyncio.gather(*futures)
        except Exception as exc:
            return BatchResult.failure(f"Kafka did not accept the records for {self._topic}: {exc!r}",
                                       error_code=DlqErrorCode.INTERNAL_ERROR.value)
        return BatchResult.success()

    async def close(self) -> None:
        return None


class BusInvoker:
    """An event bus as target, through PutEvents."""

    def __init__(self, pipe: Pipe, settings: Settings) -> None:
        self._bus = pipe.target.removeprefix("bus:")
        params = pipe.target_parameters.eventbridge_event_bus
        self._detail_type = (params.detail_type if params else None) or f"Event from {_source_label(pipe)}"
        self._source = (params.source if params else None) or f"Pipe {pipe.name}"
        self._client = EventBusClient(settings)

    async def invoke(self, payloads: list[Any], ids: list[str] | None) -> BatchResult:
        for payload in payloads:
            if not isinstance(payload, dict):
                return BatchResult.failure("a bus target needs each payload to be a JSON object (the event's detail)",
                                           error_code=DlqErrorCode.INVALID_JSON.value, retryable=False)
        for start in range(0, len(payloads), PUT_EVENTS_MAX):
            entries = [{"Source": self._source, "DetailType": self._detail_type, "Detail": json.dumps(p)}
                       for p in payloads[start:start + PUT_EVENTS_MAX]]
            result = await asyncio.to_thread(self._client.put_events, entries, bus=self._bus)
            if result.failed_entry_count:
                failed = [e for e in result.to_dict()["Entries"] if "ErrorCode" in e]
                return BatchResult.failure(f"PutEvents on bus {self._bus} failed: {failed[0]}",
                                           error_code=DlqErrorCode.ERROR_FROM_TARGET.value)
        return BatchResult.success()

    async def close(self) -> None:
        await asyncio.to_thread(self._client.close)


def _source_label(pipe: Pipe) -> str:
    return {"kafka": "SelfManagedKafka", "dynamodb": "aws:dynamodb", "debezium": "aws:dynamodb"}[pipe.source_kind]


def make_enrichment(uri: str) -> Enrichment:
    return FunctionInvoker(uri) if uri.startswith("function:") else HttpInvoker(uri)


def make_target(pipe: Pipe, settings: Settings, producer: AIOKafkaProducer) -> Target | TopicInvoker:
    uri = pipe.target
    if uri.startswith("function:"):
        return FunctionInvoker(uri)
    if uri.startswith("topic:"):
        topic = uri.removeprefix("topic:")
        with Admin(settings.bootstrap_servers, timeout_seconds=settings.kafka_timeout_seconds) as admin:
            admin.ensure_topic(internal_topic_spec(topic, 1))
        return TopicInvoker(producer, topic)
    if uri.startswith("bus:"):
        return BusInvoker(pipe, settings)
    return HttpInvoker(uri)
