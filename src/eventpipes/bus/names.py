"""ARNs as EventBridge writes them, for `<aws.events.rule-arn>` and dead-letter attributes."""

from __future__ import annotations

from eventpipes.topology.model import DEFAULT_BUS, Target


def rule_arn(region: str, account: str, bus: str, rule: str) -> str:
    """EventBridge's rule ARN: the bus appears in it unless it is the default bus."""
    scope = rule if bus == DEFAULT_BUS else f"{bus}/{rule}"
    return f"arn:aws:events:{region}:{account}:rule/{scope}"


def target_arn(region: str, account: str, target: Target) -> str:
    """An ARN-like name for a target (Kafka topics and Python functions have no AWS ARN)."""
    if target.event_bus is not None:
        return f"arn:aws:events:{region}:{account}:event-bus/{target.event_bus}"
    if target.api_destination is not None:
        return f"arn:aws:events:{region}:{account}:api-destination/{target.api_destination}"
    if target.topic is not None:
        return f"kafka:topic/{target.topic}"
    return f"python:{target.function}"
