"""API destinations: Create/Describe/List/Update/DeleteApiDestination.

An API destination is an HTTP endpoint, a method, a rate limit and the connection that
authorizes its requests (named by its ARN, with or without EventBridge's trailing id). It
is ``ACTIVE`` once created. Unlike EventBridge, ``http://`` endpoints are accepted (for
local receivers), and an API destination a rule target uses cannot be deleted (the target
would have nowhere to go); remove the target first. Pure.
"""

from __future__ import annotations

from typing import Final

from pydantic import ValidationError

from eventpipes.arns import api_destination_arn, connection_arn, connection_of_arn
from eventpipes.control import connections
from eventpipes.control.checks import NAME_PATTERN, Checker, page
from eventpipes.control.errors import ResourceAlreadyExistsException, ResourceNotFoundException, ValidationException
from eventpipes.control.operation import Body, Context, Operation, epoch_seconds, without_none
from eventpipes.control.state import ControlState
from eventpipes.targets.kinds import parse_arn
from eventpipes.topology.model import ApiDestination

METHODS: Final = ("POST", "GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE")
STATE: Final = "ACTIVE"
_DEFAULT_RATE: Final = 300


def not_found(name: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(f"Failed to describe the api-destination(s). An api-destination '{name}' does not exist.")


def existing(state: ControlState, name: str) -> Body:
    found = state.api_destinations.get(name)
    if found is None:
        raise not_found(name)
    return found


def describe(destination: Body, context: Context) -> Body:
    return without_none({
        "ApiDestinationArn": api_destination_arn(context.region, context.account, destination["Name"]),
        "Name": destination["Name"],
        "Description": destination.get("Description"),
        "ApiDestinationState": STATE,
        "ConnectionArn": connection_arn(context.region, context.account, destination["ConnectionName"]),
        "InvocationEndpoint": destination["InvocationEndpoint"],
        "HttpMethod": destination["HttpMethod"],
        "InvocationRateLimitPerSecond": destination["InvocationRateLimitPerSecond"],
        "CreationTime": epoch_seconds(destination["CreationTime"]),
        "LastModifiedTime": epoch_seconds(destination["LastModifiedTime"]),
    })


def _short(destination: Body, context: Context) -> Body:
    full = describe(destination, context)
    return {k: full[k] for k in ("ApiDestinationArn", "ApiDestinationState", "CreationTime", "LastModifiedTime")}


def _connection_name(check: Checker, required: bool) -> str | None:
    arn = check.string("ConnectionArn", required=required, min_length=1, max_length=1600)
    if arn is None:
        return None
    name = connection_of_arn(arn)
    if name is None:
        check.fail(arn, "connectionArn", "Member must be a connection ARN (arn:aws:events:REGION:ACCOUNT:connection/NAME[/ID])")
    return name


def _prepare_write(request: Body, context: Context, *, create: bool) -> Body:
    check = Checker(request)
    name = check.string("Name", required=True, min_length=1, max_length=64, pattern=NAME_PATTERN)
    description = check.string("Description", max_length=512)
    connection = _connection_name(check, create)
    endpoint = check.string("InvocationEndpoint", required=create, min_length=1, max_length=2048)
    method = check.string("HttpMethod", required=create, enum=METHODS)
    rate = check.integer("InvocationRateLimitPerSecond", minimum=1)
    check.done()
    body = without_none({"Name": name, "Description": description, "ConnectionName": connection, "InvocationEndpoint": endpoint,
                         "HttpMethod": method, "InvocationRateLimitPerSecond": rate})
    if create:
        body.setdefault("InvocationRateLimitPerSecond", _DEFAULT_RATE)
        _check_model(body)
    return body


def _check_model(body: Body) -> None:
    fields = {k: body[k] for k in ("Name", "Description", "ConnectionName", "InvocationEndpoint", "HttpMethod",
                                   "InvocationRateLimitPerSecond") if k in body}
    try:
        ApiDestination.model_validate(fields)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(p) for p in problem["loc"])
        raise ValidationException(f"Api destination {body['Name']} is not valid: {problem['msg']} ({where})") from None


def _apply_create(state: ControlState, body: Body, time_ms: int, context: Context) -> Body:
    name = body["Name"]
    if name in state.api_destinations:
        raise ResourceAlreadyExistsException(f"An api-destination '{name}' already exists.")
    connections.existing(state, body["ConnectionName"])
    state.api_destinations[name] = {**body, "CreationTime": time_ms, "LastModifiedTime": time_ms}
    return _short(state.api_destinations[name], context)


def _prepare_name(request: Body, context: Context) -> Body:
    check = Checker(request)
    name = check.string("Name", required=True, min_length=1, max_length=64, pattern=NAME_PATTERN)
    check.done()
    return {"Name": name}


def _read_describe(state: ControlState, body: Body, context: Context) -> Body:
    return describe(existing(state, body["Name"]), context)


def _prepare_list(request: Body, context: Context) -> Body:
    check = Checker(request)
    prefix = check.string("NamePrefix", min_length=1, max_length=64, pattern=NAME_PATTERN)
    connection = _connection_name(check, False)
    token = check.string("NextToken", min_length=1, max_length=2048)
    limit = check.integer("Limit", minimum=1, maximum=100)
    check.done()
    return without_none({"NamePrefix": prefix, "ConnectionName": connection, "NextToken": token, "Limit": limit})


def _read_list(state: ControlState, body: Body, context: Context) -> Body:
    names = [n for n in sorted(state.api_destinations) if n.startswith(body.get("NamePrefix", ""))
             and body.get("ConnectionName", state.api_destinations[n]["ConnectionName"]) == state.api_destinations[n]["ConnectionName"]]
    chosen, token = page(names, body.get("Limit"), body.get("NextToken"))
    listed = [{k: v for k, v in describe(state.api_destinations[n], context).items() if k != "Description"} for n in chosen]
    return without_none({"ApiDestinations": listed, "NextToken": token})


def _apply_update(state: ControlState, body: Body, time_ms: int, context: Context) -> Body:
    destination = existing(state, body["Name"])
    if "ConnectionName" in body:
        connections.existing(state, body["ConnectionName"])
    updated = {**destination, **body, "LastModifiedTime": time_ms}
    _check_model(updated)
    state.api_destinations[body["Name"]] = updated
    return _short(updated, context)


def _apply_delete(state: ControlState, body: Body, time_ms: int, context: Context) -> Body:
    name = body["Name"]
    existing(state, name)
    for (bus, rule), stored in sorted(state.rules.items()):
        for target in stored["Targets"]:
            found = parse_arn(target["Arn"])
            if found is not None and found[0].name == "ApiDestination" and found[1] == name:
                raise ValidationException(f"Api destination {name} is used by target {target['Id']} of rule {rule} on bus {bus}; "
                                          "remove that target first.")
    del state.api_destinations[name]
    return {}


OPERATIONS: Final = (
    Operation("CreateApiDestination", lambda r, c: _prepare_write(r, c, create=True), apply=_apply_create),
    Operation("DescribeApiDestination", _prepare_name, read=_read_describe),
    Operation("ListApiDestinations", _prepare_list, read=_read_list),
    Operation("UpdateApiDestination", lambda r, c: _prepare_write(r, c, create=False), apply=_apply_update),
    Operation("DeleteApiDestination", _prepare_name, apply=_apply_delete),
)
