"""The event EventBridge puts for one tick of a scheduled rule."""

from __future__ import annotations

from datetime import datetime

from eventpipes.events.envelope import Event, format_time

#: ``source`` and ``detail-type`` of every scheduled event, as EventBridge writes them.
SCHEDULED_SOURCE = "aws.events"
SCHEDULED_DETAIL_TYPE = "Scheduled Event"


def scheduled_event(rule_arn: str, instant: datetime, *, account: str, region: str, event_id: str | None = None) -> Event:
    """The envelope of the tick of rule ``rule_arn`` scheduled at ``instant``.

    ``time`` is the scheduled instant, not the moment the tick ran, so a late or
    caught-up tick still says which tick it is; ``resources`` names the rule and
    ``detail`` is empty, as in EventBridge.

    Args:
        rule_arn: ``arn:aws:events:<region>:<account>:rule/<rule>``.
        instant: the tick's scheduled instant.
        account: the account written into the envelope.
        region: the region written into the envelope.
        event_id: the event's id; a fresh UUID when omitted.
    """
    extra = {} if event_id is None else {"id": event_id}
    return Event(
        source=SCHEDULED_SOURCE,
        detail_type=SCHEDULED_DETAIL_TYPE,
        detail={},
        account=account,
        region=region,
        time=format_time(instant),
        resources=(rule_arn,),
        **extra,
    )
