"""Every EventBridge and Pipes operation of issue 18 that other endpoint tests leave out, with boto3 on the real broker.

One endpoint with a control plane over a store of its own serves the module. Each test
groups the operations of one resource family and checks what a boto3 program sees:
answers parsed by botocore, botocore's paginators walking ``NextToken``/``Limit``, and
errors raised as its modeled exceptions with AWS's codes and messages.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.exceptions
import pytest
from pydantic import SecretStr

from eventpipes.api import BackgroundEndpoint
from eventpipes.kafka.topics import bus_topic
from eventpipes.settings import Settings
from eventpipes.testing import KafkaCluster, unique_name

ROLE = "arn:aws:iam::000000000000:role/r"


@pytest.fixture(scope="module")
def store(kafka: KafkaCluster) -> Iterator[Settings]:
    settings = kafka.settings.model_copy(update={"control_topic": unique_name("control"),
                                                 "control_key": SecretStr(base64.b64encode(os.urandom(32)).decode())})
    yield settings
    kafka.admin.delete_topics([settings.control_topic])


@pytest.fixture(scope="module")
def url(store: Settings) -> Iterator[str]:
    with BackgroundEndpoint(store, keys={}) as served:
        yield served


def client(url: str, service: str) -> Any:
    return boto3.client(service, endpoint_url=url, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test")


def error_of(call: Any, **request: Any) -> dict[str, str]:
    with pytest.raises(botocore.exceptions.ClientError) as error:
        call(**request)
    return {"Code": error.value.response["Error"]["Code"], "Message": error.value.response["Error"]["Message"]}


def test_update_event_bus_and_bus_errors(kafka: KafkaCluster, url: str) -> None:
    events = client(url, "events")
    bus = unique_name("bus")
    events.create_event_bus(Name=bus, Description="first")
    updated = events.update_event_bus(Name=bus, Description="second")
    assert (updated["Name"], updated["Description"]) == (bus, "second") and updated["Arn"].endswith(f":event-bus/{bus}")
    assert events.describe_event_bus(Name=bus)["Description"] == "second"
    missing = unique_name("bus")
    for call in (events.describe_event_bus, events.update_event_bus):
        with pytest.raises(events.exceptions.ResourceNotFoundException) as gone:
            call(Name=missing)
        assert gone.value.response["Error"]["Message"] == f"Event bus {missing} does not exist."
    assert error_of(events.delete_event_bus, Name="default") == {"Code": "ValidationException",
                                                                "Message": "Cannot delete event bus default."}
    events.delete_event_bus(Name=bus)
    events.delete_event_bus(Name=bus)  # deleting a bus that does not exist succeeds, as in EventBridge
    kafka.admin.delete_topics([bus_topic(bus)])


def test_rules_enable_list_paginate_and_names_by_target(kafka: KafkaCluster, url: str) -> None:
    events = client(url, "events")
    bus = unique_name("bus")
    events.create_event_bus(Name=bus)
    pattern = json.dumps({"source": ["shop"]})
    names = ["orders-a", "orders-b", "orders-c", "other"]
    for name in names:
        events.put_rule(Name=name, EventBusName=bus, EventPattern=pattern)

    assert [r["Name"] for r in events.list_rules(EventBusName=bus, NamePrefix="orders-")["Rules"]] == names[:3]
    first = events.list_rules(EventBusName=bus, Limit=3)
    assert len(first["Rules"]) == 3 and first["NextToken"]
    pages = list(events.get_paginator("list_rules").paginate(EventBusName=bus, PaginationConfig={"PageSize": 1}))
    assert [[r["Name"] for r in page["Rules"]] for page in pages] == [[name] for name in names]
    assert all("NextToken" in page for page in pages[:-1]) and "NextToken" not in pages[-1]
    prefixed = events.get_paginator("list_rules").paginate(EventBusName=bus, NamePrefix="orders-",
                                                            PaginationConfig={"PageSize": 2}).build_full_result()
    assert [r["Name"] for r in prefixed["Rules"]] == names[:3]
    capped = events.get_paginator("list_rules").paginate(EventBusName=bus, PaginationConfig={"MaxItems": 2, "PageSize": 1})
    result = capped.build_full_result()
    assert [r["Name"] for r in result["Rules"]] == names[:2] and result["NextToken"]  # botocore's own resume token

    events.disable_rule(Name="orders-a", EventBusName=bus)
    assert events.describe_rule(Name="orders-a", EventBusName=bus)["State"] == "DISABLED"
    events.enable_rule(Name="orders-a", EventBusName=bus)
    assert events.describe_rule(Name="orders-a", EventBusName=bus)["State"] == "ENABLED"
    for call in (events.enable_rule, events.disable_rule, events.describe_rule):
        with pytest.raises(events.exceptions.ResourceNotFoundException) as missing:
            call(Name="nope", EventBusName=bus)
        assert missing.value.response["Error"]["Message"] == f"Rule nope does not exist on EventBus {bus}."

    queue = "arn:aws:sqs:us-east-1:000000000000:" + unique_name("queue")
    for rule in ("orders-a", "orders-c", "other"):
        assert events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "q", "Arn": queue}])["FailedEntryCount"] == 0
    named = events.list_rule_names_by_target(TargetArn=queue, EventBusName=bus)
    assert named["RuleNames"] == ["orders-a", "orders-c", "other"] and "NextToken" not in named
    paged = events.get_paginator("list_rule_names_by_target").paginate(TargetArn=queue, EventBusName=bus,
                                                                         PaginationConfig={"PageSize": 2})
    assert [page["RuleNames"] for page in paged] == [["orders-a", "orders-c"], ["other"]]
    assert events.list_rule_names_by_target(TargetArn=queue + "-none", EventBusName=bus)["RuleNames"] == []

    events.put_targets(Rule="orders-b", EventBusName=bus, Targets=[{"Id": f"t{i}", "Arn": f"kafka:topic/t{i}"} for i in range(5)])
    paged_targets = events.get_paginator("list_targets_by_rule").paginate(Rule="orders-b", EventBusName=bus,
                                                                          PaginationConfig={"PageSize": 2})
    assert [[t["Id"] for t in page["Targets"]] for page in paged_targets] == [["t0", "t1"], ["t2", "t3"], ["t4"]]
    with pytest.raises(events.exceptions.LimitExceededException):  # EventBridge's quota: 5 targets per rule
        events.put_targets(Rule="orders-b", EventBusName=bus, Targets=[{"Id": "t5", "Arn": "kafka:topic/t5"}])
    for rule in names:
        events.remove_targets(Rule=rule, EventBusName=bus, Ids=["q", *(f"t{i}" for i in range(5))])
        events.delete_rule(Name=rule, EventBusName=bus)
    events.delete_event_bus(Name=bus)
    kafka.admin.delete_topics([bus_topic(bus)])


def test_put_and_remove_targets_report_per_target_failures(kafka: KafkaCluster, url: str) -> None:
    events = client(url, "events")
    bus = unique_name("bus")
    events.create_event_bus(Name=bus)
    events.put_rule(Name="r", EventBusName=bus, EventPattern=json.dumps({"source": ["shop"]}))
    missing_bus = unique_name("missing")
    answer = events.put_targets(Rule="r", EventBusName=bus, Targets=[
        {"Id": "ecs", "Arn": "arn:aws:ecs:us-east-1:000000000000:cluster/c", "RoleArn": ROLE},
        {"Id": "ok", "Arn": "arn:aws:sns:us-east-1:000000000000:" + unique_name("topic")},
        {"Id": "nobus", "Arn": f"arn:aws:events:us-east-1:000000000000:event-bus/{missing_bus}"},
        {"Id": "self", "Arn": f"arn:aws:events:us-east-1:000000000000:event-bus/{bus}"},
        {"Id": "nodest", "Arn": "arn:aws:events:us-east-1:000000000000:api-destination/none/0000"}])
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200 and answer["FailedEntryCount"] == 4
    failed = {f["TargetId"]: f for f in answer["FailedEntries"]}
    assert [f["TargetId"] for f in answer["FailedEntries"]] == ["ecs", "nobus", "self", "nodest"]  # the request's order
    assert failed["ecs"]["ErrorCode"] == "ValidationException" and "is not supported" in failed["ecs"]["ErrorMessage"]
    assert failed["nobus"] == {"TargetId": "nobus", "ErrorCode": "ResourceNotFoundException",
                               "ErrorMessage": f"Event bus {missing_bus} does not exist."}
    assert failed["self"]["ErrorCode"] == "ValidationException"
    assert failed["nodest"]["ErrorCode"] == "ResourceNotFoundException"
    assert [t["Id"] for t in events.list_targets_by_rule(Rule="r", EventBusName=bus)["Targets"]] == ["ok"]

    assert error_of(events.put_targets, Rule="r", EventBusName=bus, Targets=[{"Id": "bad id!", "Arn": "kafka:topic/t"}]) == {
        "Code": "ValidationException",
        "Message": "1 validation error detected: Value 'bad id!' at 'targets.1.member.id' failed to satisfy constraint: "
                   "Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+"}
    long_id = "x" * 65
    two = error_of(events.put_targets, Rule="r", EventBusName=bus,
                   Targets=[{"Id": "fine", "Arn": "kafka:topic/t"}, {"Id": long_id, "Arn": "kafka:topic/t"}])
    assert two["Message"] == (f"1 validation error detected: Value '{long_id}' at 'targets.2.member.id' failed to satisfy "
                              "constraint: Member must have length less than or equal to 64")
    with pytest.raises(events.exceptions.ResourceNotFoundException) as no_rule:
        events.put_targets(Rule="none", EventBusName=bus, Targets=[{"Id": "t", "Arn": "kafka:topic/t"}])
    assert no_rule.value.response["Error"]["Message"] == f"Rule none does not exist on EventBus {bus}."

    removed = events.remove_targets(Rule="r", EventBusName=bus, Ids=["ok", "never-there"])
    assert (removed["FailedEntryCount"], removed["FailedEntries"]) == (0, [])
    assert events.list_targets_by_rule(Rule="r", EventBusName=bus)["Targets"] == []
    with pytest.raises(events.exceptions.ResourceNotFoundException):
        events.remove_targets(Rule="none", EventBusName=bus, Ids=["t"])
    events.delete_rule(Name="r", EventBusName=bus)
    events.delete_event_bus(Name=bus)
    kafka.admin.delete_topics([bus_topic(bus)])


def test_events_and_pipes_tags(kafka: KafkaCluster, url: str) -> None:
    events, pipes = client(url, "events"), client(url, "pipes")
    bus = unique_name("bus")
    bus_arn = events.create_event_bus(Name=bus, Tags=[{"Key": "team", "Value": "orders"}])["EventBusArn"]
    rule_arn = events.put_rule(Name="r", EventBusName=bus, EventPattern=json.dumps({"source": ["shop"]}))["RuleArn"]
    assert events.list_tags_for_resource(ResourceARN=bus_arn)["Tags"] == [{"Key": "team", "Value": "orders"}]
    events.tag_resource(ResourceARN=bus_arn, Tags=[{"Key": "cost", "Value": "1"}, {"Key": "team", "Value": "billing"}])
    assert sorted((t["Key"], t["Value"]) for t in events.list_tags_for_resource(ResourceARN=bus_arn)["Tags"]) == [
        ("cost", "1"), ("team", "billing")]
    events.untag_resource(ResourceARN=bus_arn, TagKeys=["cost"])
    assert events.list_tags_for_resource(ResourceARN=bus_arn)["Tags"] == [{"Key": "team", "Value": "billing"}]
    events.tag_resource(ResourceARN=rule_arn, Tags=[{"Key": "k", "Value": "v"}])
    assert events.list_tags_for_resource(ResourceARN=rule_arn)["Tags"] == [{"Key": "k", "Value": "v"}]
    events.untag_resource(ResourceARN=rule_arn, TagKeys=["k"])
    assert events.list_tags_for_resource(ResourceARN=rule_arn)["Tags"] == []
    missing = f"arn:aws:events:us-east-1:000000000000:event-bus/{unique_name('missing')}"
    for call, extra in ((events.tag_resource, {"Tags": [{"Key": "k", "Value": "v"}]}), (events.untag_resource, {"TagKeys": ["k"]}),
                        (events.list_tags_for_resource, {})):
        with pytest.raises(events.exceptions.ResourceNotFoundException):
            call(ResourceARN=missing, **extra)

    name = unique_name("pipe")
    arn = pipes.create_pipe(Name=name, Source="kafka:topic/" + unique_name("in"), Target="kafka:topic/" + unique_name("out"),
                            RoleArn=ROLE, Tags={"team": "orders"})["Arn"]
    assert pipes.list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "orders"}
    pipes.tag_resource(resourceArn=arn, tags={"cost": "1"})
    pipes.untag_resource(resourceArn=arn, tagKeys=["team"])
    assert pipes.list_tags_for_resource(resourceArn=arn)["tags"] == {"cost": "1"}
    gone = arn.replace(name, unique_name("pipe"))
    for call, extra in ((pipes.tag_resource, {"tags": {"k": "v"}}), (pipes.untag_resource, {"tagKeys": ["k"]}),
                        (pipes.list_tags_for_resource, {})):
        with pytest.raises(pipes.exceptions.NotFoundException) as not_found:
            call(resourceArn=gone, **extra)
        assert not_found.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    pipes.delete_pipe(Name=name)
    events.delete_rule(Name="r", EventBusName=bus)
    events.delete_event_bus(Name=bus)
    kafka.admin.delete_topics([bus_topic(bus)])


def test_connections_and_api_destinations_update_list_delete(url: str) -> None:
    events = client(url, "events")
    connection = unique_name("conn")
    created = events.create_connection(Name=connection, AuthorizationType="API_KEY", AuthParameters={
        "ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "first-secret"}})
    updated = events.update_connection(Name=connection, Description="rotated", AuthParameters={
        "ApiKeyAuthParameters": {"ApiKeyName": "x-key", "ApiKeyValue": "second-secret"}})
    assert updated["ConnectionArn"] == created["ConnectionArn"] and updated["ConnectionState"] == "AUTHORIZED"
    described = events.describe_connection(Name=connection)
    assert described["Description"] == "rotated"
    assert described["AuthParameters"]["ApiKeyAuthParameters"] == {"ApiKeyName": "x-key"}  # the value is never shown
    assert [c["Name"] for c in events.list_connections(NamePrefix=connection)["Connections"]] == [connection]

    destination = unique_name("dest")
    made = events.create_api_destination(Name=destination, ConnectionArn=created["ConnectionArn"], HttpMethod="POST",
                                         InvocationEndpoint="http://127.0.0.1:9/hook")
    changed = events.update_api_destination(Name=destination, HttpMethod="PUT", InvocationRateLimitPerSecond=5,
                                            InvocationEndpoint="http://127.0.0.1:9/other")
    assert changed["ApiDestinationArn"] == made["ApiDestinationArn"] and changed["ApiDestinationState"] == "ACTIVE"
    shown = events.describe_api_destination(Name=destination)
    assert (shown["HttpMethod"], shown["InvocationRateLimitPerSecond"], shown["InvocationEndpoint"]) == (
        "PUT", 5, "http://127.0.0.1:9/other")
    assert [d["Name"] for d in events.list_api_destinations(NamePrefix=destination)["ApiDestinations"]] == [destination]
    with pytest.raises(botocore.exceptions.ClientError) as in_use:  # a destination still uses it
        events.delete_connection(Name=connection)
    assert in_use.value.response["Error"]["Code"] == "ValidationException"

    events.delete_api_destination(Name=destination)
    events.delete_connection(Name=connection)
    assert error_of(events.describe_api_destination, Name=destination) == {
        "Code": "ResourceNotFoundException",
        "Message": f"Failed to describe the api-destination(s). An api-destination '{destination}' does not exist."}
    assert error_of(events.describe_connection, Name=connection) == {
        "Code": "ResourceNotFoundException",
        "Message": f"Failed to describe the connection(s). Connection '{connection}' does not exist."}
    for call in (events.update_connection, events.delete_connection):
        with pytest.raises(events.exceptions.ResourceNotFoundException):
            call(Name=connection)
    for call in (events.update_api_destination, events.delete_api_destination):
        with pytest.raises(events.exceptions.ResourceNotFoundException):
            call(Name=destination)


def test_pipes_update_start_stop_and_list_by_state(url: str) -> None:
    pipes = client(url, "pipes")
    prefix = unique_name("pipe")
    running, stopped = f"{prefix}-a", f"{prefix}-b"
    source = "kafka:topic/" + unique_name("in")
    for name in (running, stopped):
        made = pipes.create_pipe(Name=name, Source=source, Target="kafka:topic/" + unique_name("out"), RoleArn=ROLE)
        assert (made["CurrentState"], made["DesiredState"]) == ("CREATING", "RUNNING")
    out = "kafka:topic/" + unique_name("new")
    updated = pipes.update_pipe(Name=running, Description="moved", Target=out, RoleArn=ROLE)
    assert (updated["CurrentState"], updated["DesiredState"]) == ("UPDATING", "RUNNING")
    described = pipes.describe_pipe(Name=running)
    assert (described["Description"], described["Target"], described["Source"]) == ("moved", out, source)
    assert (described["CurrentState"], described["DesiredState"]) == ("RUNNING", "RUNNING")

    halted = pipes.stop_pipe(Name=stopped)
    assert (halted["CurrentState"], halted["DesiredState"]) == ("STOPPING", "STOPPED")
    assert (pipes.describe_pipe(Name=stopped)["CurrentState"]) == "STOPPED"

    def listed(**filters: Any) -> list[str]:
        return [p["Name"] for p in pipes.list_pipes(NamePrefix=prefix, **filters)["Pipes"]]

    assert listed() == [running, stopped]
    assert listed(DesiredState="STOPPED") == [stopped] and listed(CurrentState="STOPPED") == [stopped]
    assert listed(DesiredState="RUNNING") == [running] and listed(CurrentState="RUNNING") == [running]
    assert listed(CurrentState="CREATING") == []
    with pytest.raises(pipes.exceptions.ValidationException) as bad_state:  # botocore does not check enums: the endpoint does
        listed(CurrentState="ASLEEP")
    assert "Member must satisfy enum value set: [RUNNING, STOPPED, CREATING," in bad_state.value.response["Error"]["Message"]
    assert listed(SourcePrefix=source, TargetPrefix=out) == [running]
    pages = list(pipes.get_paginator("list_pipes").paginate(NamePrefix=prefix, PaginationConfig={"PageSize": 1}))
    assert [[p["Name"] for p in page["Pipes"]] for page in pages] == [[running], [stopped]]
    restarted = pipes.start_pipe(Name=stopped)
    assert (restarted["CurrentState"], restarted["DesiredState"]) == ("STARTING", "RUNNING")
    assert listed(DesiredState="RUNNING") == [running, stopped]

    missing = unique_name("pipe")
    for call, extra in ((pipes.update_pipe, {"RoleArn": ROLE}), (pipes.start_pipe, {}), (pipes.stop_pipe, {}),
                        (pipes.delete_pipe, {}), (pipes.describe_pipe, {})):
        with pytest.raises(pipes.exceptions.NotFoundException) as not_found:
            call(Name=missing, **extra)
        assert not_found.value.response["Error"]["Message"] == f"Pipe {missing} does not exist."
    with pytest.raises(pipes.exceptions.ValidationException):
        pipes.update_pipe(Name=running, RoleArn=ROLE, Target="arn:aws:ecs:us-east-1:000000000000:cluster/c")
    for name in (running, stopped):
        deleted = pipes.delete_pipe(Name=name)
        assert (deleted["CurrentState"], deleted["DesiredState"]) == ("DELETING", "DELETED")
    assert listed() == []


def test_operations_not_implemented_answer_unknown_operation_naming_them(url: str) -> None:
    events = client(url, "events")
    assert error_of(events.list_endpoints)["Code"] == "UnknownOperationException"
    assert "ListEndpoints" in error_of(events.list_endpoints)["Message"]
    created = error_of(events.create_endpoint, Name="global", RoutingConfig={"FailoverConfig": {
        "Primary": {"HealthCheck": "arn:aws:route53:::healthcheck/x"}, "Secondary": {"Route": "us-west-2"}}},
        EventBuses=[{"EventBusArn": "arn:aws:events:us-east-1:000000000000:event-bus/a"},
                    {"EventBusArn": "arn:aws:events:us-west-2:000000000000:event-bus/a"}])
    assert created["Code"] == "UnknownOperationException" and "CreateEndpoint" in created["Message"]
    assert "PutPermission" in error_of(events.put_permission, Policy="{}")["Message"]
    with pytest.raises(events.exceptions.ResourceNotFoundException) as archive:  # UpdateArchive of an unknown archive
        events.update_archive(ArchiveName=unique_name("arch"), Description="d")
    assert archive.value.response["Error"]["Message"].endswith("does not exist.")


def test_two_endpoints_serve_one_store(kafka: KafkaCluster, store: Settings, url: str) -> None:
    """Endpoints keep no state of their own: what one creates, another describes, changes and deletes."""
    with BackgroundEndpoint(store, keys={}) as second:
        first_events, second_events = client(url, "events"), client(second, "events")
        bus = unique_name("bus")
        first_events.create_event_bus(Name=bus, Description="made by the first")
        assert second_events.describe_event_bus(Name=bus)["Description"] == "made by the first"
        second_events.put_rule(Name="r", EventBusName=bus, EventPattern=json.dumps({"source": ["shop"]}))
        assert [r["Name"] for r in first_events.list_rules(EventBusName=bus)["Rules"]] == ["r"]
        with pytest.raises(first_events.exceptions.ResourceAlreadyExistsException):
            first_events.create_event_bus(Name=bus)
        second_events.delete_rule(Name="r", EventBusName=bus)
        second_events.delete_event_bus(Name=bus)
        with pytest.raises(first_events.exceptions.ResourceNotFoundException):
            first_events.describe_event_bus(Name=bus)
    kafka.admin.delete_topics([bus_topic(bus)])
