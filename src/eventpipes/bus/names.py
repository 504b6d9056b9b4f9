"""ARNs as EventBridge writes them, for `<aws.events.rule-arn>` and dead-letter attributes."""

from __future__ import annotations

from eventpipes.arns import api_destination_arn, bus_arn, function_arn, topic_arn
from eventpipes.topology.model import Target


def target_arn(region: str, account: str, target: Target) -> str:
    """An ARN-like name for a target (Kafka topics and Python functions have no AWS ARN)."""
    if target.event_bus is not None:
        return bus_arn(region, account, target.event_bus)
    if target.api_destination is not None:
        return api_destination_arn(region, account, target.api_destination)
    if target.topic is not None:
        return topic_arn(target.topic)
    assert target.function is not None
    return function_arn(target.function)
