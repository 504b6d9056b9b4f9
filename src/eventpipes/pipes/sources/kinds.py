"""The one table of pipe source kinds: a row per kind, naming the module that gives its shape.

``Pipe.source_kind`` (from the pipe's ``SourceParameters``) picks the row; everything that
differs between kinds (the shape of a record, ``eventSource``, ``eventSourceARN``, how
filters see an event) is a :class:`~eventpipes.pipes.sources.shape.SourceShape` member, so
a new source kind is its module plus one row here (and, if it takes parameters of its own,
their model in ``pipes/model.py``).

Pure: no Kafka, no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Final

from eventpipes.pipes.model import Pipe
from eventpipes.pipes.sources.debezium import DEBEZIUM
from eventpipes.pipes.sources.dynamodb import DYNAMODB
from eventpipes.pipes.sources.kafka import KAFKA
from eventpipes.pipes.sources.shape import SourceShape

SOURCE_KINDS: Final[Mapping[str, SourceShape]] = MappingProxyType({
    "kafka": KAFKA,
    "dynamodb": DYNAMODB,
    "debezium": DEBEZIUM,
})
"""Every source kind by ``Pipe.source_kind``."""

_VIEWS: Final[Mapping[str, Callable[[dict[str, Any]], dict[str, Any]]]] = MappingProxyType(
    {kind.event_source: kind.view for kind in SOURCE_KINDS.values()})
"""How filters see an event, by the ``eventSource`` it carries: an enrichment may hand the
target events of any shape, so the view goes by the event, not by the pipe. Kinds that
share a name (``dynamodb`` and ``debezium``) give the same shape and so the same view."""


def source_shape(pipe: Pipe) -> SourceShape:
    """The shape of the pipe's source records."""
    return SOURCE_KINDS[pipe.source_kind]


def event_source(pipe: Pipe) -> str:
    """EventBridge's name for the pipe's source (``SelfManagedKafka``, ``aws:dynamodb``)."""
    return source_shape(pipe).event_source


def view_of(event: Any) -> Any:
    """The event as filters and template paths see it: its kind's view (a Kafka record's ``value`` decoded)."""
    if isinstance(event, dict):
        source = event.get("eventSource")
        view = _VIEWS.get(source) if isinstance(source, str) else None
        if view is not None:
            return view(event)
    return event

