"""Event buses: CreateEventBus, DescribeEventBus, ListEventBuses, UpdateEventBus, DeleteEventBus.

EventBridge's rules, with two differences forced by Kafka: a bus name holds no ``/`` (a
topic name cannot) and at most 234 characters (``eventpipes.bus.`` + name fits Kafka's
249). ``default`` always exists and cannot be deleted. Deleting a bus that does not exist
succeeds, as in EventBridge; deleting a bus deletes its rules (a worker stops routing it)
and the writer then deletes its topic ``eventpipes.bus.<name>`` with the events in it
(``plane.py``), so that PutEvents to it fails as to any bus that does not exist. Partner buses (``EventSourceName``),
KMS keys, bus dead-letter queues and log configuration are refused as unsupported rather
than stored without effect, and a bus another rule's target names cannot be deleted (the
target would send to nothing). Pure.
"""

from __future__ import annotations

import re
from typing import Final

from eventpipes.arns import DEFAULT_BUS, bus_arn, bus_of_arn
from eventpipes.control.checks import BUS_NAME_OR_ARN_PATTERN, BUS_NAME_PATTERN, Checker, page
from eventpipes.control.errors import ResourceAlreadyExistsException, ResourceNotFoundException, ValidationException
from eventpipes.control.operation import Body, Context, Operation, epoch_seconds, without_none
from eventpipes.control.state import ControlState

#: Longest bus name whose topic ``eventpipes.bus.<name>`` Kafka accepts (249 characters).
MAX_BUS_NAME: Final = 234
_UNSUPPORTED: Final = ("EventSourceName", "KmsKeyIdentifier", "DeadLetterConfig", "LogConfig")


def check_bus_name(name: str) -> str:
    """``name`` if eventpipes can hold a bus of that name.

    Raises:
        ValidationException: it holds ``/`` or is too long for its Kafka topic.
    """
    if "/" in name or len(name) > MAX_BUS_NAME or re.fullmatch(r"[\.\-_A-Za-z0-9]+", name) is None:
        raise ValidationException(
            f"Event bus name {name} is not valid: eventpipes bus names are 1 to {MAX_BUS_NAME} of "
            "A-Z a-z 0-9 . _ - (no '/': the bus is the Kafka topic eventpipes.bus.<name>).")
    return name


def bus_name_of(value: str | None) -> str:
    """The bus an ``EventBusName`` member names (a name or an event-bus ARN); absent: ``default``."""
    if value is None:
        return DEFAULT_BUS
    return bus_of_arn(value) or value


def not_found(bus: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(f"Event bus {bus} does not exist.")


def existing_bus(state: ControlState, bus: str) -> Body:
    """Raises ResourceNotFoundException: no such bus."""
    found = state.buses.get(bus)
    if found is None:
        raise not_found(bus)
    return found


def describe(bus: Body, context: Context) -> Body:
    return without_none({
        "Name": bus["Name"],
        "Arn": bus_arn(context.region, context.account, bus["Name"]),
        "Description": bus.get("Description"),
        "CreationTime": epoch_seconds(bus.get("CreationTime")),
        "LastModifiedTime": epoch_seconds(bus.get("LastModifiedTime")),
    })


# -- CreateEventBus ---------------------------------------------------------------

def _prepare_create(request: Body, context: Context) -> Body:
    check = Checker(request)
    name = check.string("Name", required=True, min_length=1, max_length=256, pattern=BUS_NAME_PATTERN)
    description = check.string("Description", max_length=512)
    tags = check_tags(check)
    check.done()
    for key in _UNSUPPORTED:
        if request.get(key) is not None:
            raise ValidationException(f"{key} is not supported by eventpipes.")
    assert name is not None
    return without_none({"Name": check_bus_name(name), "Description": description, "Tags": tags or None})


def check_tags(check: Checker) -> list[Body]:
    """The ``Tags`` member (a list of ``{Key, Value}``), each checked."""
    tags = check.items("Tags")
    for i, tag in enumerate(tags, 1):
        if not isinstance(tag, dict):
            check.problems.append(f"Value at 'tags.{i}.member' must be a structure")
            continue
        check.string("Key", required=True, min_length=1, max_length=128, location=f"tags.{i}.member.key", value=tag.get("Key"), given=True)
        check.string("Value", required=True, max_length=256, location=f"tags.{i}.member.value", value=tag.get("Value"), given=True)
    return tags


def _apply_create(state: ControlState, body: Body, time_ms: int, context: Context) -> Body:
    name = body["Name"]
    if name in state.buses:
        raise ResourceAlreadyExistsException(f"Event bus {name} already exists.")
    state.buses[name] = {**body, "CreationTime": time_ms, "LastModifiedTime": time_ms}
    return without_none({"EventBusArn": bus_arn(context.region, context.account, name), "Description": body.get("Description")})


# -- DescribeEventBus, ListEventBuses ---------------------------------------------

def _prepare_name_or_arn(request: Body, context: Context) -> Body:
    check = Checker(request)
    name = check.string("Name", min_length=1, max_length=1600, pattern=BUS_NAME_OR_ARN_PATTERN)
    check.done()
    return {"Name": bus_name_of(name)}


def _read_describe(state: ControlState, body: Body, context: Context) -> Body:
    return describe(existing_bus(state, body["Name"]), context)


def _prepare_list(request: Body, context: Context) -> Body:
    check = Checker(request)
    prefix = check.string("NamePrefix", min_length=1, max_length=256, pattern=BUS_NAME_PATTERN)
    token = check.string("NextToken", min_length=1, max_length=2048)
    limit = check.integer("Limit", minimum=1, maximum=100)
    check.done()
    return without_none({"NamePrefix": prefix, "NextToken": token, "Limit": limit})


def _read_list(state: ControlState, body: Body, context: Context) -> Body:
    prefix = body.get("NamePrefix", "")
    names = sorted(name for name in state.buses if name.startswith(prefix))
    chosen, token = page(names, body.get("Limit"), body.get("NextToken"))
    return without_none({"EventBuses": [describe(state.buses[n], context) for n in chosen], "NextToken": token})


# -- UpdateEventBus -----------------------------------------------------------------

def _prepare_update(request: Body, context: Context) -> Body:
    check = Checker(request)
    name = check.string("Name", min_length=1, max_length=256, pattern=BUS_NAME_PATTERN)
    description = check.string("Description", max_length=512)
    check.done()
    for key in _UNSUPPORTED[1:]:
        if request.get(key) is not None:
            raise ValidationException(f"{key} is not supported by eventpipes.")
    return without_none({"Name": name or DEFAULT_BUS, "Description": description})


def _apply_update(state: ControlState, body: Body, time_ms: int, context: Context) -> Body:
    bus = existing_bus(state, body["Name"])
    if "Description" in body:
        bus["Description"] = body["Description"]
    bus["LastModifiedTime"] = time_ms
    return without_none({"Arn": bus_arn(context.region, context.account, bus["Name"]), "Name": bus["Name"],
                         "Description": bus.get("Description")})


# -- DeleteEventBus -----------------------------------------------------------------

def _prepare_delete(request: Body, context: Context) -> Body:
    check = Checker(request)
    name = check.string("Name", required=True, min_length=1, max_length=256, pattern=BUS_NAME_PATTERN)
    check.done()
    if name == DEFAULT_BUS:
        raise ValidationException("Cannot delete event bus default.")
    return {"Name": name}


def _apply_delete(state: ControlState, body: Body, time_ms: int, context: Context) -> Body:
    name = body["Name"]
    if name == DEFAULT_BUS:
        raise ValidationException("Cannot delete event bus default.")
    if name not in state.buses:
        return {}
    for (bus, rule), stored in sorted(state.rules.items()):
        if bus != name and any(bus_of_arn(t["Arn"]) == name for t in stored["Targets"]):
            raise ValidationException(f"Event bus {name} is the target of rule {rule} on event bus {bus}; remove that target first.")
    del state.buses[name]
    for key in [k for k in state.rules if k[0] == name]:
        del state.rules[key]
    return {}


OPERATIONS: Final = (
    Operation("CreateEventBus", _prepare_create, apply=_apply_create),
    Operation("DescribeEventBus", _prepare_name_or_arn, read=_read_describe),
    Operation("ListEventBuses", _prepare_list, read=_read_list),
    Operation("UpdateEventBus", _prepare_update, apply=_apply_update),
    Operation("DeleteEventBus", _prepare_delete, apply=_apply_delete),
)
