"""Exactly what a rule target receives for one matched event."""

from __future__ import annotations

from typing import Any, Mapping

from eventpipes.transform.jsonpath import MISSING
from eventpipes.transform.model import ConstantInput, InputTransformer, PathInput, TargetInput, TemplateInput
from eventpipes.transform.reserved import eventbridge_reserved_values
from eventpipes.transform.template import Flavour, compact_json


def render(target_input: TargetInput, event: Mapping[str, Any], *, rule_name: str, rule_arn: str,
           ingestion_time: str) -> bytes:
    """The body a target is given, UTF-8 encoded.

    Args:
        target_input: the target's ``Input``/``InputPath``/``InputTransformer``, or ``None``
            for the whole event.
        event: the matched event's envelope (``Event.to_dict()``).
        rule_name: the rule's name (``<aws.events.rule-name>``).
        rule_arn: the rule's ARN (``<aws.events.rule-arn>``).
        ingestion_time: when the bus received the event, ISO 8601
            (``<aws.events.event.ingestion-time>``).

    Returns:
        The whole event as compact JSON; the ``Input`` text unchanged; the value an
        ``InputPath`` selects as compact JSON (a string keeps its quotes), or nothing
        (``b""``) when the path matches nothing; or the filled ``InputTemplate``.

    Raises:
        InvalidTargetInput: the target input was never validated and is not valid.
        ObjectInsideQuotes: the template puts an object or array inside quotes; EventBridge
            delivers nothing for such an event, the caller dead-letters it (non-retryable).
    """
    if target_input is None:
        return compact_json(dict(event)).encode()
    if isinstance(target_input, ConstantInput):
        return target_input.input.encode()
    if isinstance(target_input, PathInput):
        selected = target_input.parsed().find(event)
        return b"" if selected is MISSING else compact_json(selected).encode()
    assert isinstance(target_input, TemplateInput)
    return transform(target_input.transformer, event, rule_name=rule_name, rule_arn=rule_arn,
                     ingestion_time=ingestion_time).encode()


def transform(transformer: InputTransformer, event: Mapping[str, Any], *, rule_name: str, rule_arn: str,
              ingestion_time: str) -> str:
    """Fill an ``InputTransformer``'s template from one event (arguments and errors as for :func:`render`)."""
    compiled = transformer.compiled()
    values: dict[str, Any] = {name: path.find(event) for name, path in compiled.paths.items()}
    values.update(eventbridge_reserved_values(event, rule_name=rule_name, rule_arn=rule_arn,
                                              ingestion_time=ingestion_time))
    return compiled.template.render(lambda name: values.get(name, MISSING), flavour=Flavour.RULES)
