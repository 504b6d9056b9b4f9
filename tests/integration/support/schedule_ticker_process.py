"""A schedule ticker in its own process, for the kill-and-restart test.

Usage: python schedule_ticker_process.py BOOTSTRAP GROUP OUTPUT_TOPIC PERIOD_SECONDS ANCHOR_ISO SESSION_MS

Prints ``READY`` once its consumer started and ``OWNER`` once it owns the schedules (and
has read their progress); runs until SIGTERM or SIGKILL.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from datetime import datetime, timedelta

from eventpipes.kafka.client_config import client_config
from eventpipes.kafka.schedule_ticker import ScheduleTicker
from eventpipes.settings import Settings
from eventpipes.records import OutRecord
from eventpipes.schedules import RateSchedule, ScheduledRule, Tick, scheduled_event

RULE = "tick-test"
ARN = f"arn:aws:events:us-east-1:000000000000:rule/{RULE}"


def outputs_to(topic: str):  # type: ignore[no-untyped-def]
    def outputs(tick: Tick) -> list[OutRecord]:
        event = scheduled_event(tick.rule.arn, tick.instant, account="000000000000", region="us-east-1")
        return [OutRecord(topic, tick.rule.name.encode(), event.to_json(), [("tick", tick.instant.isoformat().encode())])]
    return outputs


async def main(bootstrap: str, group: str, topic: str, period: float, anchor: datetime, session_ms: int) -> None:
    rule = ScheduledRule(RULE, ARN, RateSchedule("test", timedelta(seconds=period)), anchor)

    def owner(owning: bool) -> None:
        print("OWNER" if owning else "NOT-OWNER", flush=True)

    ticker = ScheduleTicker(client_config(Settings(KAFKA_BOOTSTRAP_SERVERS=bootstrap)), group, [rule], outputs_to(topic), session_timeout_ms=session_ms, on_owner_change=owner)
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, ticker.stop)
    await ticker.run(on_ready=lambda: print("READY", flush=True))


if __name__ == "__main__":
    bootstrap, group, topic, period, anchor, session_ms = sys.argv[1:7]
    asyncio.run(main(bootstrap, group, topic, float(period), datetime.fromisoformat(anchor), int(session_ms)))
