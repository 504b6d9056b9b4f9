"""Checks that span the document: names that must exist, names that must be unique,
patterns that must compile, functions that must import. Each finding is a (path, message)
pair; ``load`` locates it.

``eventpipes validate`` reports every problem of a file in one run. A document that fails
structural validation is still checked here (:func:`partial_findings`): each item of each
section is validated on its own, the cross-reference checks run on the items that pass (at
their own index in the file), and names declared by items that failed still count as
declared, so a broken bus declaration is reported once rather than again by every rule on it.
"""

from __future__ import annotations

import importlib
import re
from collections import Counter
from collections.abc import Iterator, Mapping, Set
from typing import Any

from pydantic import BaseModel, ValidationError

from eventpipes.archive.model import Archive
from eventpipes.patterns import InvalidEventPattern, compile_pattern
from eventpipes.pipes.checks import check_pipes
from eventpipes.pipes.model import Pipe
from eventpipes.transform import InvalidTargetInput, parse_path, target_input_from_dict
from eventpipes.arns import DEFAULT_BUS
from eventpipes.topology.model import ApiDestination, Connection, EventBus, Rule, Topology

Finding = tuple[str, str]

#: EventBridge's PutRule ``ValidationException`` for a schedule on a custom bus.
SCHEDULE_ON_DEFAULT_BUS_ONLY = "ScheduleExpression is supported only on the default event bus."

#: Each list section of a topology, the model of its items and the key naming an item.
SECTIONS: dict[str, tuple[type[BaseModel], str]] = {
    "EventBuses": (EventBus, "Name"),
    "Connections": (Connection, "Name"),
    "ApiDestinations": (ApiDestination, "Name"),
    "Rules": (Rule, "Name"),
    "Archives": (Archive, "ArchiveName"),
    "Pipes": (Pipe, "Name"),
}

_LEADING_INDEX = re.compile(r"^(?P<section>\w+)\[(?P<index>\d+)\]")


def check(topology: Topology, *, declared: Mapping[str, Set[str]] | None = None,
          import_functions: bool = False) -> list[Finding]:
    """Every cross-reference problem of a structurally valid topology.

    Args:
        topology: the topology.
        declared: more names per section (``EventBuses``, ``Connections``, ``ApiDestinations``)
            that references may use: those of items that failed validation.
        import_functions: also import each ``Function`` target, as ``run`` will. Off by default:
            commands that only read a topology (``status``, ``pipe``) run where the targets'
            modules may not be importable.
    """
    extra = declared or {}
    return [
        *_unique_names(topology),
        *_references(topology, extra),
        *_patterns(topology),
        *_schedules(topology),
        *_target_inputs(topology),
        *(_functions(topology) if import_functions else ()),
        *_governance(topology),
        *check_pipes(topology.pipes),
    ]


def partial_findings(document: Any, *, import_functions: bool = False) -> list[Finding]:
    """The problems :func:`check` finds in a document that failed structural validation.

    Paths use the items' indexes in the document. Items that failed are checked only for
    what can be read from them raw (a rule's pattern and bus), since their structural
    errors are reported already.
    """
    if not isinstance(document, Mapping):
        return []
    kept: dict[str, list[Any]] = {}
    indexes: dict[str, list[int]] = {}
    declared: dict[str, set[str]] = {}
    failed_rules: list[tuple[int, Mapping[str, Any]]] = []
    for section, (model, name_key) in SECTIONS.items():
        items = document.get(section)
        if not isinstance(items, list):
            continue
        for index, item in enumerate(items):
            try:
                model.model_validate(item)
            except ValidationError:
                name = item.get(name_key) if isinstance(item, Mapping) else None
                if isinstance(name, str):
                    declared.setdefault(section, set()).add(name)
                if section == "Rules" and isinstance(item, Mapping):
                    failed_rules.append((index, item))
                continue
            kept.setdefault(section, []).append(item)
            indexes.setdefault(section, []).append(index)
    try:
        partial = Topology.model_validate(kept)
    except ValidationError:
        return []
    found = check(partial, declared=declared, import_functions=import_functions)
    findings = [(_reindex(path, indexes), message) for path, message in found]
    buses = {b.name for b in partial.event_buses} | declared.get("EventBuses", set()) | {DEFAULT_BUS}
    for index, rule in failed_rules:
        findings.extend(_raw_rule_findings(index, rule, buses))
    return findings


def _reindex(path: str, indexes: Mapping[str, list[int]]) -> str:
    """``Rules[1].X`` of the partial topology as ``Rules[<index in the file>].X``."""
    match = _LEADING_INDEX.match(path)
    if match is None or match["section"] not in indexes:
        return path
    original = indexes[match["section"]][int(match["index"])]
    return f"{match['section']}[{original}]{path[match.end():]}"


def _raw_rule_findings(index: int, rule: Mapping[str, Any], buses: Set[str]) -> Iterator[Finding]:
    """What can be checked of a rule that failed validation: its bus exists, its pattern compiles, a schedule is on ``default``."""
    bus = rule.get("EventBusName", DEFAULT_BUS)
    if isinstance(bus, str) and bus not in buses:
        yield f"Rules[{index}].EventBusName", f"no bus named {bus!r} under EventBuses"
    if rule.get("ScheduleExpression") is not None and bus != DEFAULT_BUS:
        yield f"Rules[{index}].ScheduleExpression", SCHEDULE_ON_DEFAULT_BUS_ONLY
    if isinstance(rule.get("EventPattern"), Mapping):
        yield from _pattern_finding(index, dict(rule["EventPattern"]))


def _duplicates(names: list[str]) -> set[str]:
    return {name for name, count in Counter(names).items() if count > 1}


def _unique_names(topology: Topology) -> Iterator[Finding]:
    sections: tuple[tuple[str, list[str]], ...] = (
        ("EventBuses", [b.name for b in topology.event_buses]),
        ("Connections", [c.name for c in topology.connections]),
        ("ApiDestinations", [d.name for d in topology.api_destinations]),
        ("Archives", [a.name for a in topology.archives]),
    )
    for section, names in sections:
        twice = _duplicates(names)
        for index, name in enumerate(names):
            if name in twice:
                yield f"{section}[{index}].Name", f"{name!r} is declared more than once"
    twice = _duplicates([f"{r.event_bus_name}/{r.name}" for r in topology.rules])
    for index, rule in enumerate(topology.rules):
        if f"{rule.event_bus_name}/{rule.name}" in twice:
            yield f"Rules[{index}].Name", f"rule {rule.name!r} is declared more than once on bus {rule.event_bus_name!r}"
        ids = _duplicates([t.id for t in rule.targets])
        for t_index, target in enumerate(rule.targets):
            if target.id in ids:
                yield f"Rules[{index}].Targets[{t_index}].Id", f"target Id {target.id!r} is used more than once in rule {rule.name!r}"


def _references(topology: Topology, declared: Mapping[str, Set[str]]) -> Iterator[Finding]:
    buses = {b.name for b in topology.event_buses} | {DEFAULT_BUS} | declared.get("EventBuses", set())
    destinations = {d.name for d in topology.api_destinations} | declared.get("ApiDestinations", set())
    connections = {c.name for c in topology.connections} | declared.get("Connections", set())
    for index, destination in enumerate(topology.api_destinations):
        if destination.connection_name not in connections:
            yield f"ApiDestinations[{index}].ConnectionName", f"no connection named {destination.connection_name!r} under Connections"
    for index, archive in enumerate(topology.archives):
        if archive.event_bus_name not in buses:
            yield f"Archives[{index}].EventBusName", f"no bus named {archive.event_bus_name!r} under EventBuses"
    for index, rule in enumerate(topology.rules):
        if rule.event_bus_name not in buses:
            yield f"Rules[{index}].EventBusName", f"no bus named {rule.event_bus_name!r} under EventBuses"
        for t_index, target in enumerate(rule.targets):
            where = f"Rules[{index}].Targets[{t_index}]"
            bus, named = target.destination_of("EventBus"), target.destination_of("ApiDestination")
            if bus is not None and bus not in buses:
                yield f"{where}.EventBus", f"no bus named {bus!r} under EventBuses"
            if bus is not None and bus == rule.event_bus_name:
                yield f"{where}.EventBus", "a rule cannot target its own bus (the event would loop)"
            if named is not None and named not in destinations:
                yield f"{where}.ApiDestination", f"no API destination named {named!r} under ApiDestinations"


def _governance(topology: Topology) -> Iterator[Finding]:
    for index, bus in enumerate(topology.event_buses):
        subjects = bus.schema_governance.subjects if bus.schema_governance else ()
        twice = _duplicates([f"{s.source}\0{s.detail_type}" for s in subjects])
        for s_index, entry in enumerate(subjects):
            if f"{entry.source}\0{entry.detail_type}" in twice:
                yield (f"EventBuses[{index}].SchemaGovernance.Subjects[{s_index}]",
                       f"Source {entry.source!r} with DetailType {entry.detail_type!r} is listed more than once")


def _target_inputs(topology: Topology) -> Iterator[Finding]:
    for index, rule in enumerate(topology.rules):
        for t_index, target in enumerate(rule.targets):
            where = f"Rules[{index}].Targets[{t_index}]"
            try:
                target_input_from_dict(target.model_dump(by_alias=True, exclude_none=True), target_id=target.id)
            except InvalidTargetInput as error:
                yield f"{where}.{error.path}" if error.path else where, error.reason
            if target.partition_key_path is not None:
                try:
                    parse_path(target.partition_key_path, field="PartitionKeyPath")
                except InvalidTargetInput as error:
                    yield f"{where}.PartitionKeyPath", error.reason


def _patterns(topology: Topology) -> Iterator[Finding]:
    for index, rule in enumerate(topology.rules):
        if rule.event_pattern is not None:
            yield from _pattern_finding(index, rule.event_pattern)


def _schedules(topology: Topology) -> Iterator[Finding]:
    """Scheduled rules live on the ``default`` bus, as in EventBridge (the expression itself is checked at load)."""
    for index, rule in enumerate(topology.rules):
        if rule.schedule_expression is not None and rule.event_bus_name != DEFAULT_BUS:
            yield f"Rules[{index}].ScheduleExpression", SCHEDULE_ON_DEFAULT_BUS_ONLY


def _functions(topology: Topology) -> Iterator[Finding]:
    """Function targets import and are callable, as ``run`` will need them (it imports them the same way)."""
    for index, rule in enumerate(topology.rules):
        for t_index, target in enumerate(rule.targets):
            if (function := target.destination_of("Function")) is not None:
                problem = function_problem(function)
                if problem is not None:
                    yield f"Rules[{index}].Targets[{t_index}].Function", problem


def function_problem(spec: str) -> str | None:
    """Why ``module:name`` cannot be called, or ``None`` if it imports and is callable.

    Importing runs the module's top level, as the worker will; whatever it raises is
    reported (by class and message), not propagated.
    """
    module_name, _, name = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except (Exception, SystemExit) as exc:  # the user's module may raise anything while importing, exit() too
        return f"cannot import module {module_name!r}: {type(exc).__name__}: {exc}"
    if not hasattr(module, name):
        return f"module {module_name!r} has no attribute {name!r}"
    if not callable(getattr(module, name)):
        return f"{spec!r} is not callable"
    return None


def _pattern_finding(index: int, pattern: Any) -> Iterator[Finding]:
    try:
        compile_pattern(pattern)
    except InvalidEventPattern as error:
        suffix = f".{error.path}" if error.path else ""
        yield f"Rules[{index}].EventPattern{suffix}", error.message
