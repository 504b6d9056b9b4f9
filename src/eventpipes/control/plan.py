"""``eventpipes apply``'s plan: the AWS operations that make the store match a topology, in order.

``plan(current, desired, context)`` compares the store (as ``snapshot`` gives it, archives
added) with a topology file, resource by resource, in normalised forms: an ``EventPattern``
as parsed JSON, defaults filled in (the models do that), an empty ``Description`` as none.
So applying a file twice changes nothing the second time, and applying what ``export``
wrote changes nothing at all.

The steps run in dependency order: buses, connections, API destinations, rules, each
declared rule's targets (removed ones first, so a rule never holds more than 5), archives,
pipes; then, with ``prune``, the deletions of what the file does not declare: targets before
their rules, rules before buses, API destinations before their connections. Without
``prune`` nothing is deleted but the targets of a rule the file declares (a declared rule's
targets are the file's).

Connection secrets: a secret written as ``STORED_SECRET`` keeps the stored one (it is read
back with ``EVENTPIPES_CONTROL_KEY`` to compare and, if the connection changes, to send
again); a secret in clear is compared with the stored one once decrypted. ``execute`` runs
a plan through any ``invoke`` (the control plane's, or one that also serves archives). Pure.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from eventpipes.arns import DEFAULT_BUS
from eventpipes.control.connections import secret_places
from eventpipes.control.errors import ApplyRefused, StepFailed
from eventpipes.control.operation import Body, Context
from eventpipes.control.pipes import PipeNotSupported, to_pipe, updated
from eventpipes.control.requests import (
    api_destination_request, archive_request, auth_parameters, create_connection, create_event_bus, create_pipe, plain, put_rule,
    put_targets, remove_targets, stored_secret_places, update_pipe,
)
from eventpipes.errors import EventPipesError
from eventpipes.topology.model import STORED_SECRET, ApiDestination, Connection, EventBus, Rule, Target, Topology

if TYPE_CHECKING:  # the models the topology gathers (control does not import the archive and pipes packages)
    from eventpipes.topology.model import Archive, Pipe

#: The members of a topology bus the store does not keep (``run FILE`` uses them; a bus in the store has defaults).
_BUS_FILE_ONLY: Final = ("Partitions", "RetentionHours", "SchemaGovernance")
#: InvocationHttpParameters with nothing in them: what UpdateConnection is sent to remove them.
_NO_HTTP_PARAMETERS: Final[dict[str, list[Body]]] = {"HeaderParameters": [], "QueryStringParameters": [], "BodyParameters": []}


@dataclass(frozen=True, slots=True)
class Step:
    """One AWS operation of a plan."""

    operation: str
    """AWS's name: ``PutRule``, ``CreateArchive``, ..."""
    request: Body
    """The request, in the AWS API's shape (secrets in clear: never print it)."""
    changes: tuple[str, ...]
    """What it changes, one line each: ``+ rule orders/paid``, ``~ rule orders/paid (EventPattern)``, ``- target ...``."""
    subject: str
    """What it acts on, for an error naming the step: ``rule orders/paid``."""


@dataclass(frozen=True, slots=True)
class Plan:
    """The steps, and notes on what the file says that the store cannot keep."""

    steps: tuple[Step, ...]
    notes: tuple[str, ...] = ()

    @property
    def changes(self) -> list[str]:
        """Every change, one line each, in the order they are made."""
        return [line for step in self.steps for line in step.changes]


def plan(current: Topology, desired: Topology, context: Context, *, prune: bool = False,
         stored_pipes: Mapping[str, Body] | None = None) -> Plan:
    """The steps that make ``current`` (the store) match ``desired`` (a topology file).

    Args:
        current: the store: ``snapshot()`` with the archive store's archives.
        desired: the validated topology file.
        context: the region and account the ARNs in requests name.
        prune: also delete what ``desired`` does not declare.
        stored_pipes: the stored CreatePipe bodies (DescribePipe), so that an update is checked
            against what UpdatePipe will merge into; without them, the body ``current`` maps to.

    Raises:
        ApplyRefused: the file cannot be applied as it is (the message says why); nothing was changed.
    """
    notes: list[str] = []
    steps = [*_buses(current, desired, notes), *_connections(current, desired), *_destinations(current, desired, context)]
    rule_steps, target_steps = _rules(current, desired, context)
    steps += [*rule_steps, *target_steps, *_archives(current, desired, context), *_pipes(current, desired, context, stored_pipes or {})]
    if prune:
        steps += _deletions(current, desired)
    return Plan(tuple(steps), tuple(notes))


# -- comparing -------------------------------------------------------------------------------

def _shallow(body: Body) -> Body:
    """``body`` without its unset members (None, "", empty structures): absent and empty mean the same here."""
    return {key: value for key, value in body.items() if value not in (None, "", {}, [])}


def _deep(value: Any) -> Any:
    """``_shallow`` all the way down (for connection parameters, where an empty list is no list)."""
    if isinstance(value, dict):
        return _shallow({key: _deep(item) for key, item in value.items()})
    if isinstance(value, list):
        return [_deep(item) for item in value]
    return value


def _differing(old: Body, new: Body, depth: int = 1, prefix: str = "") -> list[str]:
    """The members (``Description``, ``SourceParameters.SelfManagedKafkaParameters.BatchSize``) whose values differ."""
    found: list[str] = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if depth > 1 and isinstance(a, dict) and isinstance(b, dict):
            found += _differing(a, b, depth - 1, f"{prefix}{key}.")
        else:
            found.append(f"{prefix}{key}")
    return found


def _changed(subject: str, members: list[str]) -> str:
    return f"~ {subject} ({', '.join(members)})"


# -- buses ----------------------------------------------------------------------------------

def _buses(current: Topology, desired: Topology, notes: list[str]) -> list[Step]:
    have = {bus.name: bus for bus in current.event_buses}
    have.setdefault(DEFAULT_BUS, EventBus(Name=DEFAULT_BUS))
    declared = {bus.name: bus for bus in desired.event_buses}
    steps: list[Step] = []
    for name in [*declared, *(n for n in desired.bus_names() if n not in declared)]:
        bus, old, subject = declared.get(name, EventBus(Name=name)), have.get(name), f"bus {name}"
        ignored = [key for key in _BUS_FILE_ONLY if key in plain(bus, defaults=False)]
        if ignored:
            notes.append(f"{subject}: {', '.join(ignored)} {'is' if len(ignored) == 1 else 'are'} not kept in the store "
                         "(apply ignores it; `eventpipes run FILE` uses it)")
        if old is None:
            steps.append(Step("CreateEventBus", create_event_bus(bus), (f"+ {subject}",), subject))
        elif name in declared and (old.description or None) != (bus.description or None):
            steps.append(Step("UpdateEventBus", {"Name": name, "Description": bus.description or ""},
                              (_changed(subject, ["Description"]),), subject))
    return steps


# -- connections and API destinations -----------------------------------------------------------

def _connections(current: Topology, desired: Topology) -> list[Step]:
    have = {connection.name: connection for connection in current.connections}
    steps = [_connection_step(have.get(connection.name), connection) for connection in desired.connections]
    return [step for step in steps if step is not None]


def _connection_step(old: Connection | None, new: Connection) -> Step | None:
    subject, auth = f"connection {new.name}", auth_parameters(new)
    kept = [place for _, _, place in stored_secret_places(auth)]
    if old is None:
        if kept:
            raise ApplyRefused(f"Connection {new.name}: AuthParameters.{kept[0]} is {STORED_SECRET!r}, but the store holds no "
                               f"connection {new.name} whose secret it could keep; write the secret.")
        return Step("CreateConnection", create_connection(new), (f"+ {subject}",), subject)
    old_auth = auth_parameters(old)
    if old.unusable is not None:
        compared_old, compared_new = _deep(_masked(old_auth)), _deep(_masked(auth))
        clear = [place for holder, key, place in secret_places(auth) if holder[key] != STORED_SECRET]
        if compared_old == compared_new and clear:
            raise ApplyRefused(f"Connection {new.name}: its stored secrets cannot be read here ({old.unusable}), so "
                               f"AuthParameters.{clear[0]} cannot be compared with the stored one; give this process "
                               f"EVENTPIPES_CONTROL_KEY, or write {STORED_SECRET!r} to keep the stored secret.")
        if compared_old != compared_new and kept:
            raise ApplyRefused(f"Connection {new.name}: AuthParameters.{kept[0]} keeps the stored secret, which cannot be read "
                               f"here ({old.unusable}) to send with the connection's other changes; give this process "
                               "EVENTPIPES_CONTROL_KEY, or write the secrets.")
    else:
        _keep_stored_secrets(new.name, auth, old_auth)
        compared_old, compared_new = _deep(old_auth), _deep(auth)
    members = [m for m in ("AuthorizationType",) if old.authorization_type != new.authorization_type]
    members += _differing(compared_old, compared_new, depth=3, prefix="AuthParameters.")
    if (old.description or None) != (new.description or None):
        members.append("Description")
    if not members:
        return None
    request: Body = {"Name": new.name, "AuthorizationType": new.authorization_type}
    if "Description" in members:
        request["Description"] = new.description or ""
    if compared_old != compared_new:
        if "InvocationHttpParameters" in old_auth and "InvocationHttpParameters" not in auth:
            auth["InvocationHttpParameters"] = copy.deepcopy(_NO_HTTP_PARAMETERS)
        request["AuthParameters"] = auth
    return Step("UpdateConnection", request, (_changed(subject, sorted(members)),), subject)


def _masked(auth: Body) -> Body:
    """``auth`` with every secret replaced by one value: what can be compared without the key."""
    masked = copy.deepcopy(auth)
    for holder, key, _ in list(secret_places(masked)):
        holder[key] = "*"
    return masked


def _keep_stored_secrets(name: str, auth: Body, stored: Body) -> None:
    """Put the stored secret in place of each ``STORED_SECRET`` of ``auth`` (list parameters matched by Key).

    Raises:
        ApplyRefused: the stored connection has no secret there.
    """
    for holder, key, place in list(stored_secret_places(auth)):
        value = _stored_value(stored, place, holder)
        if value is None:
            raise ApplyRefused(f"Connection {name}: AuthParameters.{place} is {STORED_SECRET!r}, but the stored connection has no "
                               "secret there to keep; write the secret.")
        holder[key] = value


def _stored_value(stored: Body, place: str, holder: Body) -> str | None:
    path, _, index = place.partition("[")
    node: Any = stored
    for step in path.split("."):
        node = node.get(step) if isinstance(node, dict) else None
    if not index:
        return node if isinstance(node, str) else None
    for parameter in node if isinstance(node, list) else []:
        if parameter.get("Key") == holder.get("Key") and parameter.get("IsValueSecret") and isinstance(parameter.get("Value"), str):
            return str(parameter["Value"])
    return None


def _destinations(current: Topology, desired: Topology, context: Context) -> list[Step]:
    have = {destination.name: destination for destination in current.api_destinations}
    steps: list[Step] = []
    for destination in desired.api_destinations:
        old, subject = have.get(destination.name), f"api-destination {destination.name}"
        request = api_destination_request(destination, context)
        if old is None:
            steps.append(Step("CreateApiDestination", request, (f"+ {subject}",), subject))
            continue
        members = _differing(_shallow(plain(old)), _shallow(plain(destination)))
        if members:
            if "Description" in members:
                request["Description"] = destination.description or ""
            steps.append(Step("UpdateApiDestination", request, (_changed(subject, members),), subject))
    return steps


# -- rules and targets ------------------------------------------------------------------------------

def _rule_form(rule: Rule) -> Body:
    return _shallow({"Description": rule.description, "State": rule.state, "EventPattern": rule.event_pattern,
                     "ScheduleExpression": rule.schedule_expression})


def _rules(current: Topology, desired: Topology, context: Context) -> tuple[list[Step], list[Step]]:
    have = {(rule.event_bus_name, rule.name): rule for rule in current.rules}
    rule_steps: list[Step] = []
    target_steps: list[Step] = []
    for rule in desired.rules:
        old = have.get((rule.event_bus_name, rule.name))
        label = f"{rule.event_bus_name}/{rule.name}"
        if old is None:
            rule_steps.append(Step("PutRule", put_rule(rule), (f"+ rule {label}",), f"rule {label}"))
        elif members := _differing(_rule_form(old), _rule_form(rule)):
            rule_steps.append(Step("PutRule", put_rule(rule), (_changed(f"rule {label}", members),), f"rule {label}"))
        target_steps += _targets(label, rule, old.targets if old is not None else (), context)
    return rule_steps, target_steps


def _targets(label: str, rule: Rule, old: tuple[Target, ...], context: Context) -> list[Step]:
    have = {target.id: target for target in old}
    steps: list[Step] = []
    removed = [target_id for target_id in have if target_id not in {t.id for t in rule.targets}]
    if removed:
        steps.append(Step("RemoveTargets", remove_targets(rule.name, rule.event_bus_name, removed),
                          tuple(f"- target {label}/{target_id}" for target_id in removed), f"targets of rule {label}"))
    put: list[Target] = []
    lines: list[str] = []
    for target in rule.targets:
        before = have.get(target.id)
        if before is None:
            lines.append(f"+ target {label}/{target.id}")
        elif before != target:
            members = [field.alias or name for name, field in type(target).model_fields.items()
                       if getattr(before, name) != getattr(target, name)]
            lines.append(_changed(f"target {label}/{target.id}", members))
        else:
            continue
        put.append(target)
    if put:
        steps.append(Step("PutTargets", put_targets(rule, put, context), tuple(lines), f"targets of rule {label}"))
    return steps


# -- archives and pipes -------------------------------------------------------------------------------

def _archives(current: Topology, desired: Topology, context: Context) -> list[Step]:
    have = {archive.name: archive for archive in current.archives}
    steps: list[Step] = []
    for archive in desired.archives:
        old, subject = have.get(archive.name), f"archive {archive.name}"
        if old is None:
            steps.append(Step("CreateArchive", archive_request(archive, context), (f"+ {subject}",), subject))
            continue
        if old.event_bus_name != archive.event_bus_name:
            raise ApplyRefused(f"Archive {archive.name} archives bus {old.event_bus_name}, the file says {archive.event_bus_name}: "
                               "an archive's bus cannot change (give it another name, or delete it, which deletes its events).")
        members = _differing(_shallow(plain(old)), _shallow(plain(archive)))
        if members:
            steps.append(Step("UpdateArchive", archive_request(archive, context), (_changed(subject, members),), subject))
    return steps


def pipe_form(pipe: "Pipe") -> Body:
    """What a pipe does, whichever way it is written: its source topic (``Source``, or ``TopicName``),
    every stream parameter with its default, filters as parsed JSON, empty parameters as none."""
    stream = plain(pipe.stream)
    stream.pop("TopicName", None)
    kind = "SelfManagedKafkaParameters" if pipe.source_kind == "kafka" else "DynamoDBStreamParameters"
    return _shallow({
        "Description": pipe.description, "DesiredState": pipe.desired_state, "Source": pipe.source_topic,
        "SourceParameters": {kind: stream, "FilterCriteria": [_parsed(text) for text in pipe.filters]},
        "Enrichment": pipe.enrichment, "EnrichmentParameters": _shallow(plain(pipe.enrichment_parameters or {})),
        "Target": pipe.target, "TargetParameters": _shallow(plain(pipe.target_parameters)),
    })


def _parsed(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _pipes(current: Topology, desired: Topology, context: Context, stored: Mapping[str, Body]) -> list[Step]:
    have = {pipe.name: pipe for pipe in current.pipes}
    steps: list[Step] = []
    for pipe in desired.pipes:
        old, subject = have.get(pipe.name), f"pipe {pipe.name}"
        create = Step("CreatePipe", create_pipe(pipe, context), (f"+ {subject}",), subject)
        if old is None:
            steps.append(create)
            continue
        members = _differing(pipe_form(old), pipe_form(pipe), depth=3)
        if not members:
            continue
        request = update_pipe(pipe, old, context)
        if _updates_to(stored.get(pipe.name) or create_pipe(old, context), request, pipe):
            steps.append(Step("UpdatePipe", request, (_changed(subject, members),), subject))
        else:  # UpdatePipe cannot make this change (another Source, a parameter it cannot unset)
            steps += [Step("DeletePipe", {"Name": pipe.name},
                           (f"- {subject} (to create it again: UpdatePipe cannot change {', '.join(members)})",), subject), create]
    return steps


def _updates_to(stored: Body, request: Body, pipe: "Pipe") -> bool:
    """Whether UpdatePipe ``request`` on ``stored`` gives ``pipe``."""
    try:
        return pipe_form(to_pipe(updated(stored, request))) == pipe_form(pipe)
    except (PipeNotSupported, KeyError):
        return False


# -- deletions (--prune) ---------------------------------------------------------------------------------

def _deletions(current: Topology, desired: Topology) -> list[Step]:
    rules = {(rule.event_bus_name, rule.name) for rule in desired.rules}
    gone = [rule for rule in current.rules if (rule.event_bus_name, rule.name) not in rules]
    steps: list[Step] = []
    for rule in gone:
        label = f"{rule.event_bus_name}/{rule.name}"
        if rule.targets:
            ids = [target.id for target in rule.targets]
            steps.append(Step("RemoveTargets", remove_targets(rule.name, rule.event_bus_name, ids),
                              tuple(f"- target {label}/{target_id}" for target_id in ids), f"targets of rule {label}"))
    for rule in gone:
        label = f"{rule.event_bus_name}/{rule.name}"
        steps.append(Step("DeleteRule", {"Name": rule.name, "EventBusName": rule.event_bus_name}, (f"- rule {label}",), f"rule {label}"))
    steps += _deleted(current.pipes, {p.name for p in desired.pipes}, "DeletePipe", "pipe", "Name")
    steps += _deleted(current.archives, {a.name for a in desired.archives}, "DeleteArchive", "archive", "ArchiveName")
    steps += _deleted(current.api_destinations, {d.name for d in desired.api_destinations}, "DeleteApiDestination",
                      "api-destination", "Name")
    steps += _deleted(current.connections, {c.name for c in desired.connections}, "DeleteConnection", "connection", "Name")
    buses = [bus for bus in current.event_buses if bus.name != DEFAULT_BUS]
    steps += _deleted(buses, set(desired.bus_names()), "DeleteEventBus", "bus", "Name")
    return steps


def _deleted(have: Any, declared: set[str], operation: str, kind: str, key: str) -> list[Step]:
    return [Step(operation, {key: item.name}, (f"- {kind} {item.name}",), f"{kind} {item.name}")
            for item in have if item.name not in declared]


# -- running a plan -----------------------------------------------------------------------------------------

def execute(steps: tuple[Step, ...], invoke: Callable[[str, Body], Body], done: Callable[[Step], None]) -> None:
    """Run ``steps`` in order with ``invoke(operation, request)``, calling ``done(step)`` after each.

    Raises:
        StepFailed: a step was refused (a PutTargets entry too); the steps before it stay applied.
    """
    for number, step in enumerate(steps, 1):
        try:
            response = invoke(step.operation, step.request)
        except EventPipesError as error:
            raise _failed(steps, number, error.code, error.message, bool(getattr(error, "input_error", False)), error.retryable) from error
        failed = response.get("FailedEntries") or []
        if failed:
            entry = failed[0]
            raise _failed(steps, number, entry.get("ErrorCode", "ValidationException"),
                          f"target {entry.get('TargetId')}: {entry.get('ErrorMessage', '')}", True, False)
        done(step)


def _failed(steps: tuple[Step, ...], number: int, code: str, message: str, input_error: bool, retryable: bool) -> StepFailed:
    step = steps[number - 1]
    before = {1: "nothing was changed", 2: "the step before it stays applied"}.get(number, f"the {number - 1} steps before it stay applied")
    return StepFailed(f"step {number} of {len(steps)} ({step.operation} {step.subject}) failed: {message} ({before})",
                      code=code, step=number, input_error=input_error, retryable=retryable)


__all__ = ["Plan", "Step", "execute", "pipe_form", "plan"]
