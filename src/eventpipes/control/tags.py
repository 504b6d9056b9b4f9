"""Tags, and TestEventPattern: TagResource, UntagResource, ListTagsForResource (EventBridge's and Pipes').

EventBridge and Pipes both name these operations ``TagResource``, ``UntagResource`` and
``ListTagsForResource``, with different shapes: EventBridge's take ``ResourceARN`` and a
list of ``{Key, Value}``, Pipes' take ``resourceArn`` and a ``tags`` map. ``invoke`` tells
them apart by those member names. Tags are kept on event buses, rules and pipes (EventBridge
tags rules and buses; Pipes tags pipes) and have no other effect. Pure.
"""

from __future__ import annotations

from typing import Any, Final

from eventpipes.arns import bus_of_arn, pipe_of_arn, rule_of_arn
from eventpipes.control import buses, pipes, rules
from eventpipes.control.checks import Checker
from eventpipes.control.errors import ResourceNotFoundException, ValidationException
from eventpipes.control.operation import Body, Context, Operation
from eventpipes.control.state import ControlState
from eventpipes.errors import ValidationException as CoreValidationException
from eventpipes.patterns import compile_pattern
from eventpipes.patterns.tester import check_test_event


def _pipes_shape(request: Body) -> bool:
    return "resourceArn" in request


def _prepare(request: Body, context: Context) -> Body:
    check = Checker(request)
    if _pipes_shape(request):
        arn = check.string("resourceArn", required=True, min_length=1, max_length=1600, location="resourceArn")
        tag_map = check.mapping("tags")
        keys = check.items("tagKeys", max_items=50)
        check.done()
        return {"Service": "pipes", "Arn": arn, "Tags": [{"Key": k, "Value": v} for k, v in (tag_map or {}).items()], "Keys": keys}
    arn = check.string("ResourceARN", required=True, min_length=1, max_length=1600)
    tags = check.items("Tags")
    keys = check.items("TagKeys")
    check.done()
    return {"Service": "events", "Arn": arn, "Tags": tags, "Keys": keys}


def _resource(state: ControlState, body: Body) -> Body:
    """The stored resource an ARN names.

    Raises:
        ResourceNotFoundException (events), NotFoundException (pipes), ValidationException: not a taggable ARN.
    """
    arn = body["Arn"]
    if body["Service"] == "pipes":
        name = pipe_of_arn(arn)
        if name is None:
            raise ValidationException(f"{arn} is not a pipe ARN.")
        return pipes.existing(state, name)
    bus = bus_of_arn(arn)
    if bus is not None:
        return buses.existing_bus(state, bus)
    rule = rule_of_arn(arn)
    if rule is not None:
        return rules.existing_rule(state, *rule)
    raise ResourceNotFoundException(f"Resource {arn} not found.")


def _as_list(tags: Any) -> list[Body]:
    if isinstance(tags, dict):  # a pipe's Tags (CreatePipe takes a map)
        return [{"Key": k, "Value": v} for k, v in tags.items()]
    return list(tags or [])


def _store(resource: Body, tags: list[Body], service: str) -> None:
    resource["Tags"] = {t["Key"]: t["Value"] for t in tags} if service == "pipes" else tags


def _apply_tag(state: ControlState, body: Body, time_ms: int, context: Context) -> Body:
    resource = _resource(state, body)
    merged = {t["Key"]: t["Value"] for t in _as_list(resource.get("Tags"))}
    merged.update({t["Key"]: t["Value"] for t in body["Tags"]})
    _store(resource, [{"Key": k, "Value": v} for k, v in merged.items()], body["Service"])
    return {}


def _apply_untag(state: ControlState, body: Body, time_ms: int, context: Context) -> Body:
    resource = _resource(state, body)
    removed = set(body["Keys"])
    _store(resource, [t for t in _as_list(resource.get("Tags")) if t["Key"] not in removed], body["Service"])
    return {}


def _read_list(state: ControlState, body: Body, context: Context) -> Body:
    tags = _as_list(_resource(state, body).get("Tags"))
    if body["Service"] == "pipes":
        return {"tags": {t["Key"]: t["Value"] for t in tags}}
    return {"Tags": tags}


def _prepare_test(request: Body, context: Context) -> Body:
    check = Checker(request)
    pattern = check.string("EventPattern", required=True, max_length=4096)
    event = check.string("Event", required=True)
    check.done()
    assert pattern is not None and event is not None
    rules.check_pattern(pattern)
    return {"EventPattern": pattern, "Event": event}


def _read_test(state: ControlState, body: Body, context: Context) -> Body:
    try:
        event = check_test_event(body["Event"])
    except CoreValidationException as error:
        raise ValidationException(error.message) from None
    return {"Result": compile_pattern(rules.check_pattern(body["EventPattern"])).matches(event)}


OPERATIONS: Final = (
    Operation("TagResource", _prepare, apply=_apply_tag),
    Operation("UntagResource", _prepare, apply=_apply_untag),
    Operation("ListTagsForResource", _prepare, read=_read_list),
    Operation("TestEventPattern", _prepare_test, read=_read_test),
)
