"""A pipe's target and enrichment, made from the targets family (``eventpipes.targets``)."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer

from eventpipes.kafka.admin import Admin
from eventpipes.kafka.client_config import client_config
from eventpipes.kafka.sink import ProducerSink
from eventpipes.kafka.topics import internal_topic_spec
from eventpipes.pipes.model import Pipe
from eventpipes.pipes.sources.kinds import event_source
from eventpipes.settings import Settings
from eventpipes.targets.adapters import BatchSender
from eventpipes.targets.base import PutEvents, TargetContext, TargetSpec
from eventpipes.targets.build import make_target
from eventpipes.targets.kinds import parse_uri


def target_spec(pipe: Pipe) -> TargetSpec:
    """The spec of the pipe's ``Target``."""
    kind, destination = parse_uri(pipe.target)
    return TargetSpec(kind, destination, "pipe", name=pipe.name, bus_parameters=pipe.target_parameters.eventbridge_event_bus,
                      source_label=event_source(pipe))  # as EventBridge names it


def enrichment_spec(pipe: Pipe) -> TargetSpec | None:
    """The spec of the pipe's ``Enrichment``, or None."""
    if pipe.enrichment is None:
        return None
    kind, destination = parse_uri(pipe.enrichment, enrichment=True)
    return TargetSpec(kind, destination, "pipe", name=pipe.name)


def context(settings: Settings, producer: AIOKafkaProducer, put_events: PutEvents | None) -> TargetContext:
    """What the pipe's targets share: its producer, the account, PutEvents, topic creation."""

    def ensure_topic(topic: str) -> None:
        with Admin(client_config(settings), timeout_seconds=settings.kafka_timeout_seconds) as admin:
            admin.ensure_topic(internal_topic_spec(topic, 1))

    return TargetContext(ProducerSink(producer), settings.region, settings.account, put_events=put_events,
                         ensure_topic=ensure_topic)


def make_senders(pipe: Pipe, shared: TargetContext) -> tuple[BatchSender, BatchSender | None]:
    """``(target, enrichment or None)`` of the pipe.

    Raises:
        ConfigurationError: a function that cannot be imported; a bus target without PutEvents.
    """
    enrichment = enrichment_spec(pipe)
    return (BatchSender(make_target(target_spec(pipe), shared)),
            BatchSender(make_target(enrichment, shared)) if enrichment is not None else None)
