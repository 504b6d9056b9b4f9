"""Checks that span the document: names that must exist, names that must be unique,
patterns that must compile. Each finding is a (path, message) pair; ``load`` locates it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any

from eventpipes.patterns import InvalidEventPattern, compile_pattern
from eventpipes.pipes.checks import check_pipes
from eventpipes.transform import InvalidTargetInput, parse_path, target_input_from_dict
from eventpipes.arns import DEFAULT_BUS
from eventpipes.topology.model import Topology

Finding = tuple[str, str]


def check(topology: Topology) -> list[Finding]:
    """Every cross-reference problem of a structurally valid topology."""
    return [
        *_unique_names(topology),
        *_references(topology),
        *_patterns(topology),
        *_target_inputs(topology),
        *_governance(topology),
        *check_pipes(topology.pipes),
    ]


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


def _references(topology: Topology) -> Iterator[Finding]:
    buses = {b.name for b in topology.event_buses} | {DEFAULT_BUS}
    destinations = {d.name for d in topology.api_destinations}
    connections = {c.name for c in topology.connections}
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
        yield from _pattern_finding(index, rule.event_pattern)


def raw_pattern_findings(document: Any) -> list[Finding]:
    """Pattern problems of a document that failed structural validation, so one run reports both."""
    rules = document.get("Rules") if isinstance(document, Mapping) else None
    if not isinstance(rules, list):
        return []
    return [
        finding
        for index, rule in enumerate(rules)
        if isinstance(rule, Mapping) and isinstance(rule.get("EventPattern"), Mapping)
        for finding in _pattern_finding(index, dict(rule["EventPattern"]))
    ]


def _pattern_finding(index: int, pattern: Any) -> Iterator[Finding]:
    try:
        compile_pattern(pattern)
    except InvalidEventPattern as error:
        suffix = f".{error.path}" if error.path else ""
        yield f"Rules[{index}].EventPattern{suffix}", error.message
