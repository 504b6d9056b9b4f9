"""Connections: CreateConnection, DescribeConnection, ListConnections, UpdateConnection, DeleteConnection.

A connection holds how API destinations authorize (BASIC, API_KEY, OAUTH_CLIENT_CREDENTIALS)
and extra invocation parameters. Its secrets are sealed before the request is written
(``secrets.py``): a process without ``EVENTPIPES_CONTROL_KEY`` cannot create or change a
connection that has any. Describing never returns a secret, as in EventBridge. eventpipes
has no authorization step of its own (OAuth tokens are fetched at the first request), so
a connection is ``AUTHORIZED`` once created. A connection an API destination uses cannot
be deleted (its targets would have no credentials); delete the destination first. Pure.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any, Final

from pydantic import ValidationError

from eventpipes.arns import connection_arn
from eventpipes.control.checks import NAME_PATTERN, Checker, page
from eventpipes.control.errors import KeyMissing, ResourceAlreadyExistsException, ResourceNotFoundException, ValidationException
from eventpipes.control.operation import Body, Context, Operation, epoch_seconds, without_none
from eventpipes.control.secrets import key_check, seal
from eventpipes.control.state import ControlState
from eventpipes.topology.model import Connection

AUTHORIZATION_TYPES: Final = ("BASIC", "OAUTH_CLIENT_CREDENTIALS", "API_KEY")
_PARAMETERS: Final = {"BASIC": "BasicAuthParameters", "API_KEY": "ApiKeyAuthParameters", "OAUTH_CLIENT_CREDENTIALS": "OAuthParameters"}
#: Secrets at fixed places: (structure, member path).
_FIXED_SECRETS: Final = (("BasicAuthParameters", ("Password",)), ("ApiKeyAuthParameters", ("ApiKeyValue",)),
                         ("OAuthParameters", ("ClientParameters", "ClientSecret")))
_PARAMETER_LISTS: Final = ("HeaderParameters", "QueryStringParameters", "BodyParameters")
_UNSUPPORTED: Final = ("InvocationConnectivityParameters", "KmsKeyIdentifier")
STATE: Final = "AUTHORIZED"


def not_found(name: str) -> ResourceNotFoundException:
    return ResourceNotFoundException(f"Failed to describe the connection(s). Connection '{name}' does not exist.")


def existing(state: ControlState, name: str) -> Body:
    found = state.connections.get(name)
    if found is None:
        raise not_found(name)
    return found


def secret_places(auth: Body) -> Iterator[tuple[Body, str, str]]:
    """``(holder, key, place)`` of every secret in AuthParameters: ``holder[key]`` is the secret."""
    for structure, path in _FIXED_SECRETS:
        holder = auth.get(structure)
        for step in path[:-1]:
            holder = holder.get(step) if isinstance(holder, dict) else None
        if isinstance(holder, dict) and isinstance(holder.get(path[-1]), str):
            yield holder, path[-1], ".".join((structure, *path))
    for where, parameters in (("InvocationHttpParameters", auth.get("InvocationHttpParameters")),
                              ("OAuthParameters.OAuthHttpParameters", (auth.get("OAuthParameters") or {}).get("OAuthHttpParameters"))):
        for kind in _PARAMETER_LISTS:
            for i, parameter in enumerate((parameters or {}).get(kind) or []):
                if isinstance(parameter, dict) and parameter.get("IsValueSecret") and isinstance(parameter.get("Value"), str):
                    yield parameter, "Value", f"{where}.{kind}[{i}].Value"


def _check_model(name: str, body: Body) -> None:
    """Raises ValidationException naming the member eventpipes' Connection model refuses."""
    try:
        Connection.model_validate({"Name": name, "AuthorizationType": body["AuthorizationType"], "AuthParameters": body["AuthParameters"]})
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(p) for p in problem["loc"])
        raise ValidationException(f"Connection {name} is not valid: {problem['msg']} ({where})") from None


def _sealed(name: str, auth: Body, context: Context) -> tuple[Body, str | None]:
    """AuthParameters with every secret sealed, and the key check (None: no secrets)."""
    sealed = copy.deepcopy(auth)
    places = list(secret_places(sealed))
    if not places:
        return sealed, None
    if context.key is None:
        raise KeyMissing(f"Connection {name} has secrets and this process has no EVENTPIPES_CONTROL_KEY to encrypt them with: "
                         "set it to the key (base64 of 16, 24 or 32 bytes) the workers are given.")
    for holder, key, place in places:
        holder[key] = seal(context.key, f"{name}/{place}", holder[key])
    return sealed, key_check(context.key)


def _check_request(check: Checker, *, create: bool) -> tuple[str | None, str | None, Body | None]:
    name = check.string("Name", required=True, min_length=1, max_length=64, pattern=NAME_PATTERN)
    check.string("Description", max_length=512)
    kind = check.string("AuthorizationType", required=create, enum=AUTHORIZATION_TYPES)
    auth = check.mapping("AuthParameters", required=create)
    return name, kind, auth


def _prepare_create(request: Body, context: Context) -> Body:
    check = Checker(request)
    name, kind, auth = _check_request(check, create=True)
    check.done()
    assert name is not None and kind is not None and auth is not None
    _refuse_unsupported(request, auth)
    body = without_none({"Name": name, "Description": request.get("Description"), "AuthorizationType": kind, "AuthParameters": auth})
    _check_model(name, body)
    body["AuthParameters"], body["KeyCheck"] = _sealed(name, auth, context)
    return without_none(body)


def _refuse_unsupported(request: Body, auth: Body) -> None:
    for key in _UNSUPPORTED:
        if request.get(key) is not None:
            raise ValidationException(f"{key} is not supported by eventpipes.")
    if auth.get("ConnectivityParameters") is not None:
        raise ValidationException("AuthParameters.ConnectivityParameters is not supported by eventpipes.")


def _apply_create(state: ControlState, body: Body, time_ms: int, context: Context) -> Body:
    name = body["Name"]
    if name in state.connections:
        raise ResourceAlreadyExistsException(f"Connection {name} already exists.")
    state.connections[name] = {**body, "ConnectionState": STATE, "CreationTime": time_ms, "LastModifiedTime": time_ms,
                               "LastAuthorizedTime": time_ms}
    return _summary(state.connections[name], context, ("ConnectionArn", "ConnectionState", "CreationTime", "LastModifiedTime"))


def _summary(connection: Body, context: Context, keys: tuple[str, ...]) -> Body:
    full = {
        "ConnectionArn": connection_arn(context.region, context.account, connection["Name"]),
        "Name": connection["Name"],
        "ConnectionState": connection["ConnectionState"],
        "AuthorizationType": connection["AuthorizationType"],
        "CreationTime": epoch_seconds(connection["CreationTime"]),
        "LastModifiedTime": epoch_seconds(connection["LastModifiedTime"]),
        "LastAuthorizedTime": epoch_seconds(connection.get("LastAuthorizedTime")),
    }
    return without_none({key: full.get(key) for key in keys})


def without_secrets(auth: Body) -> Body:
    """AuthParameters as DescribeConnection shows them: every secret left out."""
    shown = copy.deepcopy(auth)
    for holder, key, _ in list(secret_places(shown)):
        del holder[key]
    return shown


def _prepare_name(request: Body, context: Context) -> Body:
    check = Checker(request)
    name = check.string("Name", required=True, min_length=1, max_length=64, pattern=NAME_PATTERN)
    check.done()
    return {"Name": name}


def _read_describe(state: ControlState, body: Body, context: Context) -> Body:
    connection = existing(state, body["Name"])
    head = _summary(connection, context, ("ConnectionArn", "Name"))
    return without_none({**head, "Description": connection.get("Description"), "ConnectionState": connection["ConnectionState"],
                         "AuthorizationType": connection["AuthorizationType"],
                         "AuthParameters": without_secrets(connection["AuthParameters"]),
                         **_summary(connection, context, ("CreationTime", "LastModifiedTime", "LastAuthorizedTime"))})


def _prepare_list(request: Body, context: Context) -> Body:
    check = Checker(request)
    prefix = check.string("NamePrefix", min_length=1, max_length=64, pattern=NAME_PATTERN)
    wanted = check.string("ConnectionState", enum=("CREATING", "UPDATING", "DELETING", "AUTHORIZED", "DEAUTHORIZED",
                                                   "AUTHORIZING", "DEAUTHORIZING", "ACTIVE", "FAILED_CONNECTIVITY"))
    token = check.string("NextToken", min_length=1, max_length=2048)
    limit = check.integer("Limit", minimum=1, maximum=100)
    check.done()
    return without_none({"NamePrefix": prefix, "ConnectionState": wanted, "NextToken": token, "Limit": limit})


def _read_list(state: ControlState, body: Body, context: Context) -> Body:
    chosen_names = [n for n in sorted(state.connections) if n.startswith(body.get("NamePrefix", ""))
                    and body.get("ConnectionState", state.connections[n]["ConnectionState"]) == state.connections[n]["ConnectionState"]]
    chosen, token = page(chosen_names, body.get("Limit"), body.get("NextToken"))
    keys = ("ConnectionArn", "Name", "ConnectionState", "AuthorizationType", "CreationTime", "LastModifiedTime", "LastAuthorizedTime")
    return without_none({"Connections": [_summary(state.connections[n], context, keys) for n in chosen], "NextToken": token})


def _prepare_update(request: Body, context: Context) -> Body:
    check = Checker(request)
    name, kind, auth = _check_request(check, create=False)
    check.done()
    assert name is not None
    _refuse_unsupported(request, auth or {})
    body: Body = without_none({"Name": name, "Description": request.get("Description"), "AuthorizationType": kind})
    if auth is not None:
        body["AuthParameters"], check_value = _sealed(name, auth, context)
        if check_value is not None:
            body["KeyCheck"] = check_value
    return body


def _merge(old: Any, new: Any) -> Any:
    """UpdateConnection's AuthParameters: structures merge member by member; lists and values replace."""
    if isinstance(old, dict) and isinstance(new, dict):
        return {**old, **{k: _merge(old.get(k), v) for k, v in new.items()}}
    return new


def _apply_update(state: ControlState, body: Body, time_ms: int, context: Context) -> Body:
    connection = existing(state, body["Name"])
    stored_check, new_check = connection.get("KeyCheck"), body.get("KeyCheck")
    if new_check is not None and stored_check is not None and new_check != stored_check:
        raise ValidationException(f"Connection {body['Name']}'s secrets were encrypted with another EVENTPIPES_CONTROL_KEY; "
                                  "delete and create it again to change the key.")
    kind: str = body.get("AuthorizationType") or connection["AuthorizationType"]
    auth = _merge(connection["AuthParameters"], body.get("AuthParameters", {}))
    if kind != connection["AuthorizationType"]:
        auth = {k: v for k, v in auth.items() if k not in _PARAMETERS.values() or k == _PARAMETERS[kind]}
    updated = {**connection, "AuthorizationType": kind, "AuthParameters": auth, "LastModifiedTime": time_ms}
    if "Description" in body:
        updated["Description"] = body["Description"]
    if new_check is not None:
        updated["KeyCheck"] = new_check
    if _PARAMETERS[kind] not in auth:
        raise ValidationException(f"AuthorizationType {kind} needs AuthParameters.{_PARAMETERS[kind]}.")
    state.connections[body["Name"]] = updated
    return _summary(updated, context, ("ConnectionArn", "ConnectionState", "CreationTime", "LastModifiedTime", "LastAuthorizedTime"))


def _apply_delete(state: ControlState, body: Body, time_ms: int, context: Context) -> Body:
    connection = existing(state, body["Name"])
    users = sorted(n for n, d in state.api_destinations.items() if d["ConnectionName"] == body["Name"])
    if users:
        raise ValidationException(f"Connection {body['Name']} is used by API destination {users[0]}; delete that first.")
    del state.connections[body["Name"]]
    return {**_summary(connection, context, ("ConnectionArn", "CreationTime", "LastModifiedTime", "LastAuthorizedTime")),
            "ConnectionState": "DELETING"}


OPERATIONS: Final = (
    Operation("CreateConnection", _prepare_create, apply=_apply_create),
    Operation("DescribeConnection", _prepare_name, read=_read_describe),
    Operation("ListConnections", _prepare_list, read=_read_list),
    Operation("UpdateConnection", _prepare_update, apply=_apply_update),
    Operation("DeleteConnection", _prepare_name, apply=_apply_delete),
)
