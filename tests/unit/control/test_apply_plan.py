"""``eventpipes apply``'s plan on the pure rules: what it changes, in which order, and that a second plan is empty."""

from __future__ import annotations

import os
from pathlib import Path
import pytest

from control_support import Local  # beside this file
from eventpipes.control.errors import ApplyRefused, ResourceAlreadyExistsException, StepFailed
from eventpipes.control.export import to_yaml
from eventpipes.control.operation import Body
from eventpipes.control.plan import Plan, Step, execute, plan
from eventpipes.control.snapshot import to_topology
from eventpipes.topology import load_file, load_text
from eventpipes.topology.model import STORED_SECRET, Topology

ORDERS = Path(__file__).parents[3] / "topologies" / "orders.yaml"
KEY = os.urandom(32)


def applied(local: Local, desired: Topology, *, prune: bool = False) -> Plan:
    """Plan against what ``local`` holds, run the plan on it, and return it."""
    steps = plan(to_topology(local.state, local.context), desired, local.context, prune=prune, stored_pipes=local.state.pipes)
    execute(steps.steps, local.invoke, lambda step: None)
    return steps


def again(local: Local, desired: Topology, *, prune: bool = False) -> list[str]:
    return plan(to_topology(local.state, local.context), desired, local.context, prune=prune, stored_pipes=local.state.pipes).changes


def topology(text: str) -> Topology:
    return load_text(text)


def orders() -> Topology:
    return load_file(ORDERS).model_copy(update={"archives": ()})  # archives live in the archive store (integration tests)


def test_orders_applies_in_dependency_order_and_a_second_plan_is_empty() -> None:
    local = Local(key=KEY)
    steps = applied(local, orders())
    assert [s.operation for s in steps.steps] == ["CreateEventBus", "CreateConnection", "CreateApiDestination", "PutRule", "PutRule",
                                                  "PutRule", "PutTargets", "PutTargets", "PutTargets"]
    assert steps.changes[:4] == ["+ bus orders", "+ connection fulfilment-api", "+ api-destination fulfilment-webhook",
                                 "+ rule orders/high-value"]
    assert "+ target orders/order-audit/audit-topic" in steps.changes
    assert again(local, orders()) == []
    assert again(local, orders(), prune=True) == []


def test_the_snapshot_after_applying_is_the_file() -> None:
    local = Local(key=KEY)
    desired = orders()
    applied(local, desired)
    stored = to_topology(local.state, local.context)
    assert {(b.name, b.description) for b in stored.event_buses} == {(b.name, b.description) for b in desired.event_buses}
    assert stored.connections == desired.connections  # secrets decrypted with the key, Unusable unset
    assert stored.api_destinations == desired.api_destinations
    assert sorted(stored.rules, key=lambda r: r.name) == sorted(desired.rules, key=lambda r: r.name)


def test_a_changed_pattern_updates_only_that_rule_and_json_text_of_the_same_pattern_changes_nothing() -> None:
    local = Local(key=KEY)
    applied(local, orders())
    before = local.count
    text = ORDERS.read_text().replace("detail-type: [OrderShipped]", "detail-type: [OrderDelivered]")
    changed = load_text(text).model_copy(update={"archives": ()})
    steps = applied(local, changed)
    assert steps.changes == ["~ rule orders/shipped (EventPattern)"] and local.count == before + 1
    as_text = load_text(text.replace("""    EventPattern:
      detail-type: [OrderPlaced]
    Targets:""", """    EventPattern: '{ "detail-type" : ["OrderPlaced"] }'
    Targets:""")).model_copy(update={"archives": ()})
    assert as_text.rules[1].event_pattern == {"detail-type": ["OrderPlaced"]}
    assert again(local, as_text) == []


BUS_AND_RULES = """
EventBuses: [{Name: shop}, {Name: mirror}]
Rules:
  - Name: keep
    EventBusName: shop
    EventPattern: {source: [a]}
    Targets:
      - {Id: one, Topic: t.one}
      - {Id: two, Topic: t.two, RetryPolicy: {MaximumRetryAttempts: 3}}
  - Name: gone
    EventBusName: shop
    EventPattern: {source: [b]}
    Targets: [{Id: m, EventBus: mirror}]
"""


def test_a_declared_rules_targets_are_the_files_and_nothing_else_is_deleted_without_prune() -> None:
    local = Local()
    applied(local, topology(BUS_AND_RULES))
    smaller = topology("""
EventBuses: [{Name: shop}]
Rules:
  - Name: keep
    EventBusName: shop
    EventPattern: {source: [a]}
    Targets:
      - {Id: two, Topic: t.two, RetryPolicy: {MaximumRetryAttempts: 4}}
      - {Id: three, Function: "eventpipes.demo:refuse_shipping_notice"}
""")
    steps = applied(local, smaller)
    assert steps.changes == ["- target shop/keep/one", "~ target shop/keep/two (RetryPolicy)", "+ target shop/keep/three"]
    assert [s.operation for s in steps.steps] == ["RemoveTargets", "PutTargets"]
    assert ("shop", "gone") in local.state.rules and "mirror" in local.state.buses
    assert again(local, smaller) == []

    pruned = applied(local, smaller, prune=True)
    assert pruned.changes == ["- target shop/gone/m", "- rule shop/gone", "- bus mirror"]
    assert [s.operation for s in pruned.steps] == ["RemoveTargets", "DeleteRule", "DeleteEventBus"]
    assert set(local.state.rules) == {("shop", "keep")} and set(local.state.buses) == {"default", "shop"}
    assert again(local, smaller, prune=True) == []


def test_five_targets_replaced_by_five_others_are_removed_before_the_new_ones_are_put() -> None:
    local = Local()

    def five(prefix: str) -> Topology:
        targets = ", ".join(f"{{Id: {prefix}{i}, Topic: t{i}}}" for i in range(5))
        return topology(f"Rules: [{{Name: r, EventPattern: {{source: [a]}}, Targets: [{targets}]}}]")

    applied(local, five("a"))
    steps = applied(local, five("b"))  # a rule holds at most 5 targets: putting first would pass that
    assert [s.operation for s in steps.steps] == ["RemoveTargets", "PutTargets"]
    assert [t["Id"] for t in local.state.rules[("default", "r")]["Targets"]] == [f"b{i}" for i in range(5)]


def test_prune_deletes_destinations_before_their_connections_and_never_the_default_bus() -> None:
    local = Local(key=KEY)
    applied(local, orders())
    steps = applied(local, topology("Rules: [{Name: other, EventPattern: {source: [x]}}]"), prune=True)
    assert [s.operation for s in steps.steps] == ["PutRule", *["RemoveTargets"] * 3, *["DeleteRule"] * 3, "DeleteApiDestination",
                                                  "DeleteConnection", "DeleteEventBus"]
    assert set(local.state.buses) == {"default"} and not local.state.connections and not local.state.api_destinations


def test_buses_say_what_the_store_does_not_keep_and_descriptions_update() -> None:
    local = Local()
    applied(local, topology("EventBuses: [{Name: b, Description: one}]"))
    steps = applied(local, topology("EventBuses: [{Name: b, Partitions: 6, RetentionHours: 24}]"))
    assert steps.changes == ["~ bus b (Description)"] and local.state.buses["b"]["Description"] == ""
    assert steps.notes == ("bus b: Partitions, RetentionHours are not kept in the store (apply ignores it; `eventpipes run FILE` uses it)",)
    assert again(local, topology("EventBuses: [{Name: b}]")) == []


# -- connection secrets -------------------------------------------------------------------------

CONNECTION = """
Connections:
  - Name: c
    AuthorizationType: API_KEY
    AuthParameters:
      ApiKeyAuthParameters: {{ApiKeyName: x-api-key, ApiKeyValue: "{key}"}}
      InvocationHttpParameters:
        HeaderParameters:
          - {{Key: x-tenant, Value: acme}}
          - {{Key: x-token, Value: "{token}", IsValueSecret: true}}
"""


def connection(key: str = "k-1", token: str = "t-1") -> Topology:
    return topology(CONNECTION.format(key=key, token=token))


def test_stored_secret_keeps_the_stored_secrets_and_a_changed_secret_is_named_never_shown() -> None:
    local = Local(key=KEY)
    applied(local, connection())
    assert again(local, connection(STORED_SECRET, STORED_SECRET)) == []
    steps = applied(local, connection("k-2", STORED_SECRET))
    assert steps.changes == ["~ connection c (AuthParameters.ApiKeyAuthParameters.ApiKeyValue)"]
    assert all("k-2" not in line for line in steps.changes)
    stored = to_topology(local.state, local.context).connections[0]
    assert stored.auth_parameters.api_key is not None and stored.auth_parameters.api_key.api_key_value == "k-2"
    assert stored.auth_parameters.invocation_http_parameters is not None
    assert stored.auth_parameters.invocation_http_parameters.header_parameters[1].value == "t-1"  # kept, matched by its Key
    assert again(local, connection("k-2", "t-1")) == []


def test_removed_invocation_parameters_are_removed() -> None:
    local = Local(key=KEY)
    applied(local, connection())
    plain_key = topology("Connections: [{Name: c, AuthorizationType: API_KEY, "
                         "AuthParameters: {ApiKeyAuthParameters: {ApiKeyName: x-api-key, ApiKeyValue: <stored secret>}}}]")
    steps = applied(local, plain_key)
    assert steps.changes == ["~ connection c (AuthParameters.InvocationHttpParameters)"]
    assert again(local, plain_key) == []


def test_stored_secret_with_nothing_stored_is_refused_before_anything_changes() -> None:
    local = Local(key=KEY)
    with pytest.raises(ApplyRefused) as caught:
        applied(local, connection(STORED_SECRET))
    assert caught.value.code == "ValidationException" and "AuthParameters.ApiKeyAuthParameters.ApiKeyValue" in caught.value.message
    assert local.count == 0


def test_without_the_key_stored_secrets_compare_equal_and_clear_ones_are_refused() -> None:
    keyed = Local(key=KEY)
    applied(keyed, connection())
    keyless = Local()
    keyless.state = keyed.state
    assert again(keyless, connection(STORED_SECRET, STORED_SECRET)) == []
    with pytest.raises(ApplyRefused) as caught:
        again(keyless, connection())
    assert "EVENTPIPES_CONTROL_KEY" in caught.value.message and "k-1" not in caught.value.message


def test_export_writes_no_secret_and_applying_it_changes_nothing() -> None:
    local = Local(key=KEY)
    applied(local, orders())
    applied(local, connection())
    text = to_yaml(to_topology(local.state, local.context))
    assert "demo-secret" not in text and "k-1" not in text and "t-1" not in text and text.count(f": {STORED_SECRET}") == 3
    exported = load_text(text)
    assert again(local, exported) == [] and again(local, exported, prune=True) == []


# -- pipes and archives --------------------------------------------------------------------------

PIPE = """
Pipes:
  - Name: p
    Source: orders
    SourceParameters:
      FilterCriteria: {{Filters: [{{Pattern: {{value: {{kind: [a]}}}}}}]}}
      SelfManagedKafkaParameters: {{BatchSize: {batch}{extra}}}
    Enrichment: "function:eventpipes.demo:refuse_shipping_notice"
    Target: topic:out
    TargetParameters: {{InputTemplate: '{{"v": <$.value>}}'}}
"""


def pipe(batch: int = 10, extra: str = "") -> Topology:
    return topology(PIPE.format(batch=batch, extra=extra))


def test_a_pipe_changed_in_place_is_updated_and_one_update_pipe_cannot_make_is_created_again() -> None:
    local = Local()
    assert applied(local, pipe()).changes == ["+ pipe p"]
    assert again(local, pipe()) == []
    steps = applied(local, pipe(20, ", DeadLetterConfig: {Arn: p.dlq}"))
    assert steps.changes == ["~ pipe p (SourceParameters.SelfManagedKafkaParameters.BatchSize, "
                             "SourceParameters.SelfManagedKafkaParameters.DeadLetterConfig)"]
    assert [s.operation for s in steps.steps] == ["UpdatePipe"]
    created = local.state.pipes["p"]["CreationTime"]
    steps = applied(local, pipe(20))  # UpdatePipe keeps a parameter it is not given: it cannot remove the DeadLetterConfig
    assert [s.operation for s in steps.steps] == ["DeletePipe", "CreatePipe"]
    assert steps.changes[1] == "+ pipe p" and local.state.pipes["p"]["CreationTime"] > created
    assert again(local, pipe(20)) == []
    without_enrichment = topology(PIPE.format(batch=20, extra="").replace(
        '    Enrichment: "function:eventpipes.demo:refuse_shipping_notice"\n', ""))
    assert [s.operation for s in applied(local, without_enrichment).steps] == ["UpdatePipe"]
    assert "Enrichment" not in local.state.pipes["p"] and again(local, without_enrichment) == []


def test_a_change_topic_pipe_round_trips_as_a_dynamodb_stream_source() -> None:
    local = Local()
    desired = topology("""
Pipes:
  - Name: changes
    Source: table.changes
    SourceParameters: {DynamoDBStreamParameters: {ChangeEventFormat: DEBEZIUM, StreamViewType: NEW_IMAGE, StartingPosition: TRIM_HORIZON}}
    Target: bus:default
    TargetParameters: {EventBridgeEventBusParameters: {DetailType: change}}
""")
    applied(local, desired)
    assert local.state.pipes["changes"]["Source"].startswith("arn:aws:dynamodb:us-east-1:123456789012:table/table.changes/stream/")
    assert to_topology(local.state, local.context).pipes == desired.pipes
    assert again(local, desired) == []
    source_changed = desired.model_copy(update={"pipes": (desired.pipes[0].model_copy(update={"source": "other"}),)})
    assert [s.operation for s in plan(to_topology(local.state, local.context), source_changed, local.context).steps] == [
        "DeletePipe", "CreatePipe"]


ARCHIVE = "Archives: [{ArchiveName: a, EventBusName: %s, RetentionDays: %d}]"


def test_archives_are_planned_and_one_moved_to_another_bus_is_refused() -> None:
    context = Local().context
    current = topology(ARCHIVE % ("default", 7))
    assert plan(current, topology(ARCHIVE % ("default", 7)), context).steps == ()
    steps = plan(current, topology(ARCHIVE % ("default", 8)), context)
    assert steps.changes == ["~ archive a (RetentionDays)"]
    assert steps.steps[0].request == {"ArchiveName": "a", "EventSourceArn": "arn:aws:events:us-east-1:123456789012:event-bus/default",
                                      "RetentionDays": 8, "State": "ENABLED"}
    assert plan(current, Topology(), context).steps == ()
    assert plan(current, Topology(), context, prune=True).changes == ["- archive a"]
    with pytest.raises(ApplyRefused, match="an archive's bus cannot change"):
        plan(current, topology("EventBuses: [{Name: b}]\n" + ARCHIVE % ("b", 7)), context)


# -- a refused step -------------------------------------------------------------------------------------

def test_a_refused_step_names_itself_and_what_was_applied_before_it() -> None:
    local = Local()
    steps = plan(Topology(), topology(BUS_AND_RULES), local.context)
    done: list[Step] = []

    def invoke(operation: str, request: Body) -> Body:
        if len(done) == 2:
            raise ResourceAlreadyExistsException("Rule keep already exists.")
        return local.invoke(operation, request)

    with pytest.raises(StepFailed) as caught:
        execute(steps.steps, invoke, done.append)
    assert caught.value.code == "ResourceAlreadyExistsException" and caught.value.step == 3 and caught.value.input_error
    assert caught.value.message == (f"step 3 of {len(steps.steps)} (PutRule rule shop/keep) failed: Rule keep already exists. "
                                    "(the 2 steps before it stay applied)")
    assert set(local.state.buses) == {"default", "shop", "mirror"}


def test_a_failed_put_targets_entry_fails_its_step() -> None:
    local = Local()
    applied(local, topology("EventBuses: [{Name: b}]\nRules: [{Name: r, EventBusName: b, EventPattern: {source: [a]}}]"))
    bad = {"Id": "x", "Arn": "arn:aws:events:us-east-1:123456789012:event-bus/nowhere"}
    with pytest.raises(StepFailed) as caught:
        execute((Step("PutTargets", {"Rule": "r", "EventBusName": "b", "Targets": [bad]}, ("+ target b/r/x",), "targets of rule b/r"),),
                local.invoke, lambda step: None)
    assert caught.value.code == "ResourceNotFoundException" and "target x: Event bus nowhere does not exist." in caught.value.message
