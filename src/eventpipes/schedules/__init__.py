"""Scheduled rules' expressions (``rate()``, ``cron()``), fire times and tick bookkeeping (pure core).

The Kafka side, which fires each tick once across a group of workers, is
``eventpipes.kafka.schedule_ticker``.
"""

from eventpipes.schedules.cron import CronSchedule
from eventpipes.schedules.errors import InvalidScheduleExpression
from eventpipes.schedules.event import SCHEDULED_DETAIL_TYPE, SCHEDULED_SOURCE, scheduled_event
from eventpipes.schedules.parse import Schedule, parse_schedule
from eventpipes.schedules.progress import Progress, ScheduledRule, Tick, after_firing, anchor_of, baseline, due_tick, next_due
from eventpipes.schedules.rate import RateSchedule

__all__ = [
    "SCHEDULED_DETAIL_TYPE",
    "SCHEDULED_SOURCE",
    "CronSchedule",
    "InvalidScheduleExpression",
    "Progress",
    "RateSchedule",
    "Schedule",
    "ScheduledRule",
    "Tick",
    "after_firing",
    "anchor_of",
    "baseline",
    "due_tick",
    "next_due",
    "parse_schedule",
    "scheduled_event",
]
