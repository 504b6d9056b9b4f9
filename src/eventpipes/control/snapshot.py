"""The state as a topology (``eventpipes.topology.model.Topology``): what a worker runs.

Pure: a function of the state (and, for connection secrets, the key this process holds).
A scheduled rule is given its ``ScheduleExpression`` once the topology's Rule takes one;
until then a rule with a schedule and no pattern is left out of the snapshot.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from pydantic import ValidationError

from eventpipes.arns import DEFAULT_BUS
from eventpipes.control.operation import Body, Context
from eventpipes.control.state import ControlState
from eventpipes.control.targets import TargetNotSupported, to_target
from eventpipes.topology.model import EventBus, Rule, Topology

log = logging.getLogger(__name__)


def to_topology(state: ControlState, context: Context) -> Topology:
    """Every resource in ``state`` as the topology model holds it."""
    buses = tuple(
        EventBus(Name=name, Description=bus.get("Description"))
        for name, bus in sorted(state.buses.items()) if name != DEFAULT_BUS or bus.get("Description") is not None
    )
    rules = tuple(rule for key in sorted(state.rules) if (rule := to_rule(state.rules[key])) is not None)
    return Topology(EventBuses=buses, Rules=rules)


def to_rule(stored: Body) -> Rule | None:
    """A stored rule as a topology Rule (None: one the topology model cannot hold yet; logged)."""
    body: dict[str, Any] = {"Name": stored["Name"], "EventBusName": stored["EventBusName"], "State": stored["State"]}
    if stored.get("Description") is not None:
        body["Description"] = stored["Description"]
    if stored.get("EventPattern") is not None:
        body["EventPattern"] = json.loads(stored["EventPattern"])
    if stored.get("ScheduleExpression") is not None and "schedule_expression" in Rule.model_fields:
        body["ScheduleExpression"] = stored["ScheduleExpression"]
    try:
        body["Targets"] = tuple(to_target(target) for target in stored["Targets"])
        return Rule.model_validate(body)
    except (TargetNotSupported, ValidationError) as exc:
        log.warning("rule %s on bus %s is left out of the snapshot: %s", stored["Name"], stored["EventBusName"], exc)
        return None
