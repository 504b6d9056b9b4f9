"""Rules and their targets: PutRule, DescribeRule, ListRules, EnableRule, DisableRule, DeleteRule,
PutTargets, RemoveTargets, ListTargetsByRule, ListRuleNamesByTarget.

EventBridge's rules and messages: a rule is on one bus (by name or ARN; ``default`` when
none is given) and has an event pattern (JSON text, returned as given) or a schedule
expression (on the default bus only), or both; PutRule creates or replaces it (its targets
stay); a bus holds at most ``EVENTPIPES_RULES_PER_BUS`` rules (300) and a rule at most 5
targets; a rule with targets cannot be deleted; deleting a rule that does not exist
succeeds. Pure.
"""

from __future__ import annotations

import json
from typing import Any, Final

from eventpipes.arns import DEFAULT_BUS, rule_arn
from eventpipes.control import buses
from eventpipes.control.buses import bus_name_of, existing_bus
from eventpipes.control.checks import BUS_NAME_OR_ARN_PATTERN, NAME_PATTERN, Checker, page
from eventpipes.control.errors import (
    InvalidEventPatternException, LimitExceededException, ResourceNotFoundException, ValidationException,
)
from eventpipes.control.operation import Body, Context, Operation, without_none
from eventpipes.control.state import ControlState
from eventpipes.control.targets import TargetNotSupported, to_target
from eventpipes.patterns import InvalidEventPattern, compile_pattern
from eventpipes.patterns.errors import MESSAGE_PREFIX
from eventpipes.schedules import InvalidScheduleExpression, parse_schedule
from eventpipes.targets.kinds import parse_arn

#: EventBridge's quota of targets per rule.
MAX_TARGETS: Final = 5
_STATES: Final = ("ENABLED", "DISABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS")
_LIMIT_MESSAGE: Final = "The requested resource exceeds the maximum number allowed."
#: The members of a stored rule that describe it (``Targets`` and times are kept beside them).
_DESCRIBED: Final = ("Name", "EventPattern", "ScheduleExpression", "State", "Description", "RoleArn")


def rule_not_found(name: str, bus: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(f"Rule {name} does not exist on EventBus {bus}.")


def existing_rule(state: ControlState, bus: str, name: str) -> Body:
    """Raises ResourceNotFoundException: no such bus, or no such rule on it."""
    existing_bus(state, bus)
    found = state.rules.get((bus, name))
    if found is None:
        raise rule_not_found(name, bus)
    return found


def _rule_and_bus(check: Checker, rule_key: str = "Name") -> tuple[str | None, str]:
    name = check.string(rule_key, required=True, min_length=1, max_length=64, pattern=NAME_PATTERN)
    bus = check.string("EventBusName", min_length=1, max_length=1600, pattern=BUS_NAME_OR_ARN_PATTERN)
    return name, bus_name_of(bus)


def describe(rule: Body, context: Context) -> Body:
    bus = rule["EventBusName"]
    return without_none({
        **{key: rule.get(key) for key in _DESCRIBED},
        "Arn": rule_arn(context.region, context.account, bus, rule["Name"]),
        "EventBusName": bus,
    })


# -- PutRule ----------------------------------------------------------------------------

def check_pattern(text: str) -> dict[str, Any]:
    """The pattern in ``text``, compiled as EventBridge would.

    Raises:
        InvalidEventPatternException: not a JSON object, or a pattern EventBridge refuses.
    """
    try:
        pattern = json.loads(text)
    except ValueError:
        raise InvalidEventPatternException("Event pattern is not valid. Reason: Filter is not valid JSON") from None
    if not isinstance(pattern, dict):
        raise InvalidEventPatternException("Event pattern is not valid. Reason: Filter is not an object")
    try:
        compile_pattern(pattern)
    except InvalidEventPattern as error:
        refused = InvalidEventPatternException(f"{MESSAGE_PREFIX}{error.reason}")
        refused.path = error.path  # where in the pattern; AWS's message itself does not say
        raise refused from error
    return pattern


def _prepare_put_rule(request: Body, context: Context) -> Body:
    check = Checker(request)
    name, bus = _rule_and_bus(check)
    schedule = check.string("ScheduleExpression", max_length=256)
    pattern = check.string("EventPattern", max_length=4096)
    state = check.string("State", enum=_STATES)
    description = check.string("Description", max_length=512)
    role = check.string("RoleArn", min_length=1, max_length=1600)
    tags = buses.check_tags(check)
    check.done()
    if not schedule and not pattern:
        raise ValidationException("Parameter(s) EventPattern or ScheduleExpression must be specified.")
    if pattern:
        check_pattern(pattern)
    if schedule:
        if bus != DEFAULT_BUS:
            raise ValidationException("ScheduleExpression is supported only on the default event bus.")
        try:
            parse_schedule(schedule)
        except InvalidScheduleExpression as error:
            raise ValidationException(error.message) from error
    if state == "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS":
        raise ValidationException("State ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS is not supported by eventpipes (it has no CloudTrail).")
    return without_none({
        "Name": name, "EventBusName": bus, "ScheduleExpression": schedule or None, "EventPattern": pattern or None,
        "State": state or "ENABLED", "Description": description, "RoleArn": role, "RulesPerBus": context.rules_per_bus,
        "Tags": tags or None,
    })


def _apply_put_rule(state: ControlState, body: Body, time_ms: int, context: Context) -> Body:
    bus, name = body["EventBusName"], body["Name"]
    existing_bus(state, bus)
    previous = state.rules.get((bus, name))
    if previous is None and len(state.rules_on(bus)) >= body["RulesPerBus"]:
        raise LimitExceededException(_LIMIT_MESSAGE)
    rule = {key: value for key, value in body.items() if key not in ("RulesPerBus", "Tags")}
    rule["Targets"] = previous["Targets"] if previous is not None else []
    # Tags given to PutRule apply when it creates the rule; an update keeps the rule's tags (TagResource changes them).
    tags = previous.get("Tags") if previous is not None else body.get("Tags")
    if tags:
        rule["Tags"] = tags
    rule["CreationTime"] = previous["CreationTime"] if previous is not None else time_ms
    rule["LastModifiedTime"] = time_ms
    state.rules[(bus, name)] = rule
    return {"RuleArn": rule_arn(context.region, context.account, bus, name)}


# -- DescribeRule, ListRules ----------------------------------------------------------------

def _prepare_rule(request: Body, context: Context) -> Body:
    check = Checker(request)
    name, bus = _rule_and_bus(check)
    check.done()
    return {"Name": name, "EventBusName": bus}


def _read_describe(state: ControlState, body: Body, context: Context) -> Body:
    rule = existing_rule(state, body["EventBusName"], body["Name"])
    return {**describe(rule, context), "CreatedBy": context.account}


def _prepare_list(request: Body, context: Context) -> Body:
    check = Checker(request)
    prefix = check.string("NamePrefix", min_length=1, max_length=64, pattern=NAME_PATTERN)
    bus = check.string("EventBusName", min_length=1, max_length=1600, pattern=BUS_NAME_OR_ARN_PATTERN)
    token = check.string("NextToken", min_length=1, max_length=2048)
    limit = check.integer("Limit", minimum=1, maximum=100)
    check.done()
    return without_none({"NamePrefix": prefix, "EventBusName": bus_name_of(bus), "NextToken": token, "Limit": limit})


def _read_list(state: ControlState, body: Body, context: Context) -> Body:
    bus = body["EventBusName"]
    existing_bus(state, bus)
    rules = [r for r in state.rules_on(bus) if r["Name"].startswith(body.get("NamePrefix", ""))]
    chosen, token = page(rules, body.get("Limit"), body.get("NextToken"))
    return without_none({"Rules": [describe(r, context) for r in chosen], "NextToken": token})


# -- EnableRule, DisableRule, DeleteRule --------------------------------------------------------

def _set_state(value: str) -> Any:
    def apply(state: ControlState, body: Body, time_ms: int, context: Context) -> Body:
        rule = existing_rule(state, body["EventBusName"], body["Name"])
        rule["State"] = value
        rule["LastModifiedTime"] = time_ms
        return {}
    return apply


def _apply_delete(state: ControlState, body: Body, time_ms: int, context: Context) -> Body:
    key = (body["EventBusName"], body["Name"])
    rule = state.rules.get(key)
    if rule is None:
        return {}  # EventBridge answers success for a rule that does not exist
    if rule["Targets"]:
        raise ValidationException("Rule can't be deleted since it has targets.")
    del state.rules[key]
    return {}


# -- PutTargets, RemoveTargets ----------------------------------------------------------------

def _prepare_put_targets(request: Body, context: Context) -> Body:
    check = Checker(request)
    name, bus = _rule_and_bus(check, "Rule")
    targets = check.items("Targets", required=True, min_items=1, max_items=100)
    for i, target in enumerate(targets, 1):
        if not isinstance(target, dict):
            check.problems.append(f"Value at 'targets.{i}.member' must be a structure")
            continue
        check.string("Id", required=True, min_length=1, max_length=64, pattern=NAME_PATTERN,
                     location=f"targets.{i}.member.id", value=target.get("Id"), given=True)
        check.string("Arn", required=True, min_length=1, max_length=1600, location=f"targets.{i}.member.arn",
                     value=target.get("Arn"), given=True)
    check.done()
    accepted: list[Body] = []
    failed: list[Body] = []
    for target in targets:
        try:
            to_target(target, context.functions)
        except TargetNotSupported as error:
            failed.append({"TargetId": target["Id"], "ErrorCode": "ValidationException", "ErrorMessage": str(error)})
            continue
        accepted.append(target)
    return {"Rule": name, "EventBusName": bus, "Targets": accepted, "Failed": failed, "Order": [t["Id"] for t in targets]}


def _apply_put_targets(state: ControlState, body: Body, time_ms: int, context: Context) -> Body:
    bus = body["EventBusName"]
    rule = existing_rule(state, bus, body["Rule"])
    failed = list(body["Failed"])
    merged = {target["Id"]: target for target in rule["Targets"]}
    for target in body["Targets"]:
        problem = reference_problem(state, bus, target["Arn"])
        if problem is not None:
            failed.append({"TargetId": target["Id"], "ErrorCode": problem[0], "ErrorMessage": problem[1]})
        else:
            merged[target["Id"]] = target
    if len(merged) > MAX_TARGETS:
        raise LimitExceededException(_LIMIT_MESSAGE)
    rule["Targets"] = list(merged.values())
    rule["LastModifiedTime"] = time_ms
    order = body["Order"]
    failed.sort(key=lambda entry: order.index(entry["TargetId"]))  # as the request listed them
    return {"FailedEntryCount": len(failed), "FailedEntries": failed}


def reference_problem(state: ControlState, bus: str, arn: str) -> tuple[str, str] | None:
    """Why a target of a rule on ``bus`` names something that does not exist here, or None.

    eventpipes' bus and API destination targets are resources of this store (EventBridge's
    may be in another account), so they must exist, and a bus target cannot be the rule's
    own bus (the event would loop).
    """
    found = parse_arn(arn)
    if found is None:
        return None
    kind, destination = found
    if kind.name == "EventBus" and destination == bus:
        return "ValidationException", f"A rule on event bus {bus} cannot target the same event bus."
    if kind.name == "EventBus" and destination not in state.buses:
        return "ResourceNotFoundException", f"Event bus {destination} does not exist."
    if kind.name == "ApiDestination" and destination not in state.api_destinations:
        return "ResourceNotFoundException", f"Failed to describe the api-destination(s). An api-destination '{destination}' does not exist."
    return None


def _prepare_remove_targets(request: Body, context: Context) -> Body:
    check = Checker(request)
    name, bus = _rule_and_bus(check, "Rule")
    ids = check.items("Ids", required=True, min_items=1, max_items=100)
    for i, target_id in enumerate(ids, 1):
        check.string("Id", required=True, min_length=1, max_length=64, pattern=NAME_PATTERN,
                     location=f"ids.{i}.member", value=target_id, given=True)
    check.boolean("Force")
    check.done()
    return {"Rule": name, "EventBusName": bus, "Ids": ids}


def _apply_remove_targets(state: ControlState, body: Body, time_ms: int, context: Context) -> Body:
    rule = existing_rule(state, body["EventBusName"], body["Rule"])
    removed = set(body["Ids"])
    rule["Targets"] = [target for target in rule["Targets"] if target["Id"] not in removed]
    rule["LastModifiedTime"] = time_ms
    return {"FailedEntryCount": 0, "FailedEntries": []}


# -- ListTargetsByRule, ListRuleNamesByTarget ------------------------------------------------------

def _prepare_list_targets(request: Body, context: Context) -> Body:
    check = Checker(request)
    name, bus = _rule_and_bus(check, "Rule")
    token = check.string("NextToken", min_length=1, max_length=2048)
    limit = check.integer("Limit", minimum=1, maximum=100)
    check.done()
    return without_none({"Rule": name, "EventBusName": bus, "NextToken": token, "Limit": limit})


def _read_list_targets(state: ControlState, body: Body, context: Context) -> Body:
    rule = existing_rule(state, body["EventBusName"], body["Rule"])
    chosen, token = page(rule["Targets"], body.get("Limit"), body.get("NextToken"))
    return without_none({"Targets": chosen, "NextToken": token})


def _prepare_names_by_target(request: Body, context: Context) -> Body:
    check = Checker(request)
    arn = check.string("TargetArn", required=True, min_length=1, max_length=1600)
    bus = check.string("EventBusName", min_length=1, max_length=1600, pattern=BUS_NAME_OR_ARN_PATTERN)
    token = check.string("NextToken", min_length=1, max_length=2048)
    limit = check.integer("Limit", minimum=1, maximum=100)
    check.done()
    return without_none({"TargetArn": arn, "EventBusName": bus_name_of(bus), "NextToken": token, "Limit": limit})


def _read_names_by_target(state: ControlState, body: Body, context: Context) -> Body:
    bus = body["EventBusName"]
    existing_bus(state, bus)
    names = [r["Name"] for r in state.rules_on(bus) if any(t["Arn"] == body["TargetArn"] for t in r["Targets"])]
    chosen, token = page(names, body.get("Limit"), body.get("NextToken"))
    return without_none({"RuleNames": chosen, "NextToken": token})


OPERATIONS: Final = (
    Operation("PutRule", _prepare_put_rule, apply=_apply_put_rule),
    Operation("DescribeRule", _prepare_rule, read=_read_describe),
    Operation("ListRules", _prepare_list, read=_read_list),
    Operation("EnableRule", _prepare_rule, apply=_set_state("ENABLED")),
    Operation("DisableRule", _prepare_rule, apply=_set_state("DISABLED")),
    Operation("DeleteRule", _prepare_rule, apply=_apply_delete),
    Operation("PutTargets", _prepare_put_targets, apply=_apply_put_targets),
    Operation("RemoveTargets", _prepare_remove_targets, apply=_apply_remove_targets),
    Operation("ListTargetsByRule", _prepare_list_targets, read=_read_list_targets),
    Operation("ListRuleNamesByTarget", _prepare_names_by_target, read=_read_names_by_target),
)
