"""Reserved template variables: the values EventBridge fills in without a JSON path.

Rule targets (:data:`EVENTBRIDGE_RESERVED`) get the rule, the ingestion time and the
event itself. Users cannot define variables with these names (the ``InputPathsMap``
key pattern has no ``.``, so they could not anyway).

Adding Pipes' names: build the values in a function like
:func:`eventbridge_reserved_values` (``aws.pipes.pipe-arn``, ``aws.pipes.pipe-name``,
``aws.pipes.source-arn``, ``aws.pipes.enrichment-arn``, ``aws.pipes.target-arn``,
``aws.pipes.event.ingestion-time``, ``aws.pipes.event``, ``aws.pipes.event.json``)
and give :meth:`eventpipes.transform.template.Template.render` a lookup that tries
that dict first and evaluates ``$``-names with
:func:`eventpipes.transform.jsonpath.parse_path`; :data:`PIPES_RESERVED` lists the names
for validation.
"""

from __future__ import annotations

from typing import Any, Final, Mapping

RULE_ARN: Final = "aws.events.rule-arn"
RULE_NAME: Final = "aws.events.rule-name"
EVENT: Final = "aws.events.event"
EVENT_JSON: Final = "aws.events.event.json"
INGESTION_TIME: Final = "aws.events.event.ingestion-time"

#: Names every rule-target template may use without defining them.
EVENTBRIDGE_RESERVED: Final = frozenset({RULE_ARN, RULE_NAME, EVENT, EVENT_JSON, INGESTION_TIME})

#: Names every Pipes template may use (values are the Pipes engineer's to build).
PIPES_RESERVED: Final = frozenset({
    "aws.pipes.pipe-arn", "aws.pipes.pipe-name", "aws.pipes.source-arn", "aws.pipes.enrichment-arn",
    "aws.pipes.target-arn", "aws.pipes.event.ingestion-time", "aws.pipes.event", "aws.pipes.event.json",
})

#: Envelope keys of ``<aws.events.event>`` in the order EventBridge writes them, with the
#: envelope key each is read from. Recorded from EventBridge: ``detail`` is left out and
#: ``detail-type`` is renamed ``detailType``.
_EVENT_SUMMARY_KEYS: Final = (
    ("id", "id"), ("account", "account"), ("detailType", "detail-type"), ("time", "time"),
    ("source", "source"), ("region", "region"), ("resources", "resources"), ("version", "version"),
)


def event_summary(event: Mapping[str, Any]) -> dict[str, Any]:
    """The value of ``<aws.events.event>``: the envelope without ``detail``, as EventBridge shapes it."""
    return {name: event[key] for name, key in _EVENT_SUMMARY_KEYS if key in event}


def eventbridge_reserved_values(event: Mapping[str, Any], *, rule_name: str, rule_arn: str,
                                ingestion_time: str) -> dict[str, Any]:
    """Values of every ``aws.events.*`` variable for one delivery.

    Args:
        event: the matched event's envelope (``Event.to_dict()``).
        rule_name: the rule's name.
        rule_arn: the rule's ARN (``arn:aws:events:<region>:<account>:rule/<rule>`` on the
            default bus, ``.../rule/<bus>/<rule>`` on a custom bus).
        ingestion_time: when the bus received the event, ISO 8601.
    """
    return {
        RULE_ARN: rule_arn,
        RULE_NAME: rule_name,
        INGESTION_TIME: ingestion_time,
        EVENT: event_summary(event),
        EVENT_JSON: dict(event),
    }
