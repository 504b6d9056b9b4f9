"""The round trip of apply, as a property: topology → requests → applied → snapshot is the topology again.

For any two topologies drawn from a small universe of names (so that the second one changes,
replaces and drops what the first one made), applying the first and then the second with
``prune`` leaves a store whose snapshot is the second, and a plan made then is empty.
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import given, strategies as st

from control_support import Local  # beside this file
from eventpipes.control.plan import execute, pipe_form, plan
from eventpipes.control.requests import plain
from eventpipes.control.snapshot import to_topology
from eventpipes.topology.checks import check
from eventpipes.topology.model import Topology

KEY = os.urandom(32)
BUSES = ("b1", "b2", "b3")
PATTERNS = ({"source": ["a"]}, {"detail-type": ["x", "y"]}, {"detail": {"n": [{"numeric": [">", 1]}]}}, {"source": [{"prefix": "s"}]})
AUTH = {
    "API_KEY": lambda v: {"ApiKeyAuthParameters": {"ApiKeyName": "x-key", "ApiKeyValue": f"k{v}"}},
    "BASIC": lambda v: {"BasicAuthParameters": {"Username": "u", "Password": f"p{v}"}},
    "OAUTH_CLIENT_CREDENTIALS": lambda v: {"OAuthParameters": {
        "AuthorizationEndpoint": "https://auth.example.com/token", "HttpMethod": "POST",
        "ClientParameters": {"ClientID": "id", "ClientSecret": f"s{v}"}}},
}
descriptions = st.sampled_from([None, "one", "two"])


@st.composite
def topologies(draw: Any) -> Topology:
    buses = draw(st.lists(st.sampled_from(BUSES), unique=True, max_size=3))
    connections = []
    for name in draw(st.lists(st.sampled_from(("c1", "c2")), unique=True, max_size=2)):
        kind = draw(st.sampled_from(sorted(AUTH)))
        auth = AUTH[kind](draw(st.integers(0, 1)))
        if draw(st.booleans()):
            auth["InvocationHttpParameters"] = {"HeaderParameters": [
                {"Key": "x-tenant", "Value": "acme"}, {"Key": "x-token", "Value": f"t{draw(st.integers(0, 1))}", "IsValueSecret": True}]}
        connections.append({"Name": name, "Description": draw(descriptions), "AuthorizationType": kind, "AuthParameters": auth})
    destinations = []
    if connections:
        for name in draw(st.lists(st.sampled_from(("d1", "d2")), unique=True, max_size=2)):
            destinations.append({"Name": name, "ConnectionName": draw(st.sampled_from([c["Name"] for c in connections])),
                                 "InvocationEndpoint": draw(st.sampled_from(["http://127.0.0.1:9/*", "https://example.com/x"])),
                                 "HttpMethod": draw(st.sampled_from(["POST", "PUT"])), "Description": draw(descriptions),
                                 "InvocationRateLimitPerSecond": draw(st.sampled_from([300, 10]))})
    rules = []
    for name in draw(st.lists(st.sampled_from(("r1", "r2", "r3")), unique=True, max_size=3)):
        bus = draw(st.sampled_from(["default", *buses]))
        rule: dict[str, Any] = {"Name": name, "EventBusName": bus, "State": draw(st.sampled_from(["ENABLED", "DISABLED"])),
                                "Description": draw(descriptions), "EventPattern": draw(st.sampled_from(PATTERNS))}
        if bus == "default" and draw(st.booleans()):
            rule["ScheduleExpression"] = "rate(5 minutes)"
        rule["Targets"] = [draw(targets(f"t{i}", bus, buses, [d["Name"] for d in destinations]))
                           for i in range(draw(st.integers(0, 5)))]
        rules.append(rule)
    pipes = [draw(pipe_definitions(name)) for name in draw(st.lists(st.sampled_from(("p1", "p2")), unique=True, max_size=2))]
    topology = Topology.model_validate({"EventBuses": [{"Name": b, "Description": draw(descriptions)} for b in buses],
                                        "Connections": connections, "ApiDestinations": destinations, "Rules": rules, "Pipes": pipes})
    assert check(topology) == []
    return topology


@st.composite
def targets(draw: Any, target_id: str, bus: str, buses: list[str], destinations: list[str]) -> dict[str, Any]:
    kinds = ["Topic", "Function", "File", *(["EventBus"] if [b for b in buses if b != bus] else []), *(["ApiDestination"] if destinations else [])]
    kind = draw(st.sampled_from(kinds))
    target: dict[str, Any] = {"Id": target_id, kind: {
        "Topic": lambda: draw(st.sampled_from(["out.a", "out.b"])),
        "Function": lambda: "eventpipes.demo:refuse_shipping_notice",
        "File": lambda: "/tmp/eventpipes-out.jsonl",
        "EventBus": lambda: draw(st.sampled_from([b for b in buses if b != bus])),
        "ApiDestination": lambda: draw(st.sampled_from(destinations)),
    }[kind]()}
    form = draw(st.sampled_from([None, "Input", "InputPath", "InputTransformer"]))
    if form == "Input":
        target["Input"] = '{"fixed": true}'
    elif form == "InputPath":
        target["InputPath"] = "$.detail"
    elif form == "InputTransformer":
        target["InputTransformer"] = {"InputPathsMap": {"s": "$.source"}, "InputTemplate": '{"s": <s>}'}
    if kind == "Topic" and draw(st.booleans()):
        target["PartitionKeyPath"] = "$.source"
    if kind == "ApiDestination" and draw(st.booleans()):
        target["HttpParameters"] = {"HeaderParameters": {"x-a": "b"}, "PathParameterValues": ["p"]}
    if draw(st.booleans()):
        target["RetryPolicy"] = {"MaximumRetryAttempts": draw(st.sampled_from([0, 3])), "MaximumEventAgeInSeconds": 600}
    if draw(st.booleans()):
        target["DeadLetterConfig"] = {"Arn": draw(st.sampled_from(["dlq.a", "dlq.b"]))}
    return target


@st.composite
def pipe_definitions(draw: Any, name: str) -> dict[str, Any]:
    stream: dict[str, Any] = {"BatchSize": draw(st.sampled_from([1, 10])), "StartingPosition": draw(st.sampled_from(["LATEST", "TRIM_HORIZON"]))}
    if draw(st.booleans()):
        stream["DeadLetterConfig"] = {"Arn": "pipe.dlq"}
    if draw(st.booleans()):
        stream["MaximumRetryAttempts"] = 3
    kind = draw(st.sampled_from(["SelfManagedKafkaParameters", "DynamoDBStreamParameters"]))
    parameters: dict[str, Any] = {kind: stream}
    if draw(st.booleans()):
        parameters["FilterCriteria"] = {"Filters": [{"Pattern": {"value": {"k": ["a"]}}}]}
    pipe: dict[str, Any] = {"Name": name, "Source": draw(st.sampled_from(["in.a", "in.b"])), "SourceParameters": parameters,
                            "DesiredState": draw(st.sampled_from(["RUNNING", "STOPPED"])), "Description": draw(descriptions),
                            "Target": draw(st.sampled_from(["topic:out", "bus:default"]))}
    if draw(st.booleans()):
        pipe["Enrichment"] = "function:eventpipes.demo:refuse_shipping_notice"
        if draw(st.booleans()):
            pipe["EnrichmentParameters"] = {"InputTemplate": '{"v": <$.value>}'}
    if draw(st.booleans()):
        pipe["TargetParameters"] = {"InputTemplate": '{"w": <$.value>}'}
    return pipe


def apply(local: Local, desired: Topology) -> None:
    steps = plan(to_topology(local.state, local.context), desired, local.context, prune=True, stored_pipes=local.state.pipes)
    execute(steps.steps, local.invoke, lambda step: None)


def without_empty(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: v for k, v in ((k, without_empty(v)) for k, v in value.items()) if v not in (None, "", [], {})}
    return [without_empty(v) for v in value] if isinstance(value, list) else value


def assert_holds(local: Local, desired: Topology) -> None:
    """The snapshot is ``desired``: compared member by member, not by the plan's own comparison."""
    stored = to_topology(local.state, local.context)
    assert {(b.name, b.description or None) for b in stored.event_buses} == {(b.name, b.description) for b in desired.event_buses}
    # Removed InvocationHttpParameters are stored as empty lists (UpdateConnection replaces lists, cannot drop members).
    assert {c.name: without_empty(plain(c)) for c in stored.connections} == {c.name: without_empty(plain(c)) for c in desired.connections}
    destinations = {d.name: d.model_copy(update={"description": d.description or None}) for d in stored.api_destinations}
    assert destinations == {d.name: d for d in desired.api_destinations}
    rules = {(r.event_bus_name, r.name): (r.model_copy(update={"targets": ()}), {t.id: t for t in r.targets}) for r in stored.rules}
    assert rules == {(r.event_bus_name, r.name): (r.model_copy(update={"targets": ()}), {t.id: t for t in r.targets}) for r in desired.rules}
    assert {p.name: pipe_form(p) for p in stored.pipes} == {p.name: pipe_form(p) for p in desired.pipes}


@given(topologies(), topologies())
def test_applying_one_topology_then_another_leaves_the_other_and_nothing_to_do(first: Topology, second: Topology) -> None:
    local = Local(key=KEY)
    apply(local, first)
    assert_holds(local, first)
    apply(local, second)
    assert_holds(local, second)
    assert plan(to_topology(local.state, local.context), second, local.context, prune=True, stored_pipes=local.state.pipes).steps == ()
