"""The state as a topology (``eventpipes.topology.model.Topology``): what a worker runs.

Pure: a function of the state (and, for connection secrets, the key this process holds).
A scheduled rule is given its ``ScheduleExpression`` once the topology's Rule takes one;
until then a rule with a schedule and no pattern is left out of the snapshot.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from eventpipes.arns import DEFAULT_BUS
from eventpipes.control.operation import Body, Context
from eventpipes.control.state import ControlState
from eventpipes.control.targets import TargetNotSupported, to_target
from eventpipes.control.connections import secret_places
from eventpipes.control.pipes import PipeNotSupported, to_pipe
from eventpipes.pipes.model import Pipe
from eventpipes.control.secrets import SecretUnavailable, key_check, unseal
from eventpipes.topology.model import ApiDestination, Connection, EventBus, Rule, Topology

log = logging.getLogger(__name__)


def to_topology(state: ControlState, context: Context) -> Topology:
    """Every resource in ``state`` as the topology model holds it."""
    buses = tuple(
        EventBus(Name=name, Description=bus.get("Description"))
        for name, bus in sorted(state.buses.items()) if name != DEFAULT_BUS or bus.get("Description") is not None
    )
    rules = tuple(rule for key in sorted(state.rules) if (rule := to_rule(state.rules[key], context.functions)) is not None)
    connections = tuple(to_connection(state.connections[name], context.key) for name in sorted(state.connections))
    destinations = tuple(
        ApiDestination.model_validate({k: v for k, v in d.items() if k not in ("CreationTime", "LastModifiedTime")})
        for _, d in sorted(state.api_destinations.items())
    )
    pipes = tuple(pipe for name in sorted(state.pipes) if (pipe := _pipe(state.pipes[name], context.functions)) is not None)
    return Topology(EventBuses=buses, Rules=rules, Connections=connections, ApiDestinations=destinations, Pipes=pipes)


def _pipe(stored: Body, functions: Mapping[str, str]) -> Pipe | None:
    try:
        return to_pipe(stored, functions)
    except PipeNotSupported as exc:  # checked when written; a record of another version could still fail
        log.warning("pipe %s is left out of the snapshot: %s", stored["Name"], exc)
        return None


#: What a secret reads as in a connection this process cannot decrypt (its targets fail before using it).
PLACEHOLDER = "<unavailable>"


def to_connection(stored: Body, key: bytes | None) -> Connection:
    """A stored connection with its secrets decrypted, or marked ``Unusable`` (why) when they cannot be."""
    name = stored["Name"]
    auth = json.loads(json.dumps(stored["AuthParameters"]))
    reason = None
    expected = stored.get("KeyCheck")
    if expected is not None and key is not None and key_check(key) != expected:
        reason = "EVENTPIPES_CONTROL_KEY is not the key its secrets were encrypted with"
    for holder, member, place in list(secret_places(auth)):
        if reason is None:
            try:
                holder[member] = unseal(key, f"{name}/{place}", holder[member])
                continue
            except SecretUnavailable as error:
                reason = str(error)
        holder[member] = PLACEHOLDER
    return Connection.model_validate({"Name": name, "Description": stored.get("Description"),
                                      "AuthorizationType": stored["AuthorizationType"], "AuthParameters": auth, "Unusable": reason})


def to_rule(stored: Body, functions: Mapping[str, str] | None = None) -> Rule | None:
    """A stored rule as a topology Rule (None: one the topology model cannot hold yet; logged)."""
    body: dict[str, Any] = {"Name": stored["Name"], "EventBusName": stored["EventBusName"], "State": stored["State"]}
    if stored.get("Description") is not None:
        body["Description"] = stored["Description"]
    if stored.get("EventPattern") is not None:
        body["EventPattern"] = json.loads(stored["EventPattern"])
    if stored.get("ScheduleExpression") is not None and "schedule_expression" in Rule.model_fields:
        body["ScheduleExpression"] = stored["ScheduleExpression"]
    try:
        body["Targets"] = tuple(to_target(target, functions) for target in stored["Targets"])
        return Rule.model_validate(body)
    except (TargetNotSupported, ValidationError) as exc:
        log.warning("rule %s on bus %s is left out of the snapshot: %s", stored["Name"], stored["EventBusName"], exc)
        return None
