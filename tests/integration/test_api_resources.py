"""The control plane's operations through the endpoint with boto3, on the real broker.

Each test's store is a control topic of its own. What is checked is what a boto3 program
sees: answers parsed by botocore (timestamps, per-target failures, paging) and errors raised
as its modeled exceptions with AWS's messages.
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
from eventpipes.testing import KafkaCluster, unique_name

ACCOUNT_ARN = "arn:aws:events:us-east-1:{account}:{resource}"


@pytest.fixture
def url(kafka: KafkaCluster) -> Iterator[str]:
    settings = kafka.settings.model_copy(update={"control_topic": unique_name("control"),
                                                 "control_key": SecretStr(base64.b64encode(os.urandom(32)).decode())})
    with BackgroundEndpoint(settings, keys={}) as served:
        yield served
    kafka.admin.delete_topics([settings.control_topic])


def client(url: str, service: str) -> Any:
    return boto3.client(service, endpoint_url=url, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")


def test_buses_rules_and_targets_with_boto3(kafka: KafkaCluster, url: str) -> None:
    events = client(url, "events")
    buses = [unique_name("bus") for _ in range(2)]
    for bus in buses:
        assert events.create_event_bus(Name=bus)["EventBusArn"].endswith(f":event-bus/{bus}")
    assert bus_topic(buses[0]) in kafka.admin.topics()  # creating a bus creates its topic
    with pytest.raises(events.exceptions.ResourceAlreadyExistsException) as taken:
        events.create_event_bus(Name=buses[0])
    assert taken.value.response["Error"]["Message"] == f"Event bus {buses[0]} already exists."
    described = events.describe_event_bus(Name=buses[0])
    assert described["Name"] == buses[0] and described["CreationTime"].year >= 2024
    prefix = buses[0][:4]
    first = events.list_event_buses(NamePrefix=prefix, Limit=1)
    rest = events.list_event_buses(NamePrefix=prefix, NextToken=first["NextToken"])
    assert {b["Name"] for b in first["EventBuses"] + rest["EventBuses"]} >= set(buses)

    bus = buses[0]
    events.put_rule(Name="orders", EventBusName=bus, EventPattern=json.dumps({"source": ["shop"]}), Description="d")
    rule = events.describe_rule(Name="orders", EventBusName=bus)
    assert json.loads(rule["EventPattern"]) == {"source": ["shop"]} and rule["State"] == "ENABLED" and rule["CreatedBy"]
    with pytest.raises(events.exceptions.InvalidEventPatternException):
        events.put_rule(Name="bad", EventBusName=bus, EventPattern='{"source": "shop"}')
    put = events.put_targets(Rule="orders", EventBusName=bus, Targets=[
        {"Id": "queue", "Arn": "arn:aws:sqs:us-east-1:000000000000:orders-queue"},
        {"Id": "nobus", "Arn": "arn:aws:events:us-east-1:000000000000:event-bus/" + unique_name("missing")}])
    assert put["FailedEntryCount"] == 1 and put["FailedEntries"][0]["TargetId"] == "nobus"
    assert put["FailedEntries"][0]["ErrorCode"] == "ResourceNotFoundException"
    assert [t["Id"] for t in events.list_targets_by_rule(Rule="orders", EventBusName=bus)["Targets"]] == ["queue"]
    with pytest.raises(botocore.exceptions.ClientError) as bad_id:
        events.put_targets(Rule="orders", EventBusName=bus, Targets=[{"Id": "bad id!", "Arn": "kafka:topic/t"}])
    assert "at 'targets.1.member.id'" in bad_id.value.response["Error"]["Message"]
    events.disable_rule(Name="orders", EventBusName=bus)
    assert events.list_rules(EventBusName=bus, NamePrefix="ord")["Rules"][0]["State"] == "DISABLED"
    with pytest.raises(botocore.exceptions.ClientError) as has_targets:
        events.delete_rule(Name="orders", EventBusName=bus)
    assert has_targets.value.response["Error"]["Message"] == "Rule can't be deleted since it has targets."
    events.remove_targets(Rule="orders", EventBusName=bus, Ids=["queue"])
    events.delete_rule(Name="orders", EventBusName=bus)
    with pytest.raises(events.exceptions.ResourceNotFoundException) as gone:
        events.describe_rule(Name="orders")
    assert gone.value.response["Error"]["Message"] == "Rule orders does not exist on EventBus default."

    arn = described["Arn"]
    events.tag_resource(ResourceARN=arn, Tags=[{"Key": "team", "Value": "orders"}])
    assert events.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "team", "Value": "orders"}]
    for name in buses:
        events.delete_event_bus(Name=name)
    assert not {bus_topic(name) for name in buses} & kafka.admin.topics()  # deleting a bus deletes its topic


def test_connections_destinations_and_pipes_with_boto3(kafka: KafkaCluster, url: str) -> None:
    events, pipes = client(url, "events"), client(url, "pipes")
    connection = unique_name("conn")
    created = events.create_connection(Name=connection, AuthorizationType="API_KEY", AuthParameters={
        "ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "not-to-be-shown"}})
    assert created["ConnectionState"] == "AUTHORIZED"
    described = events.describe_connection(Name=connection)
    assert "not-to-be-shown" not in json.dumps(described, default=str)
    destination = unique_name("dest")
    events.create_api_destination(Name=destination, ConnectionArn=created["ConnectionArn"], HttpMethod="POST",
                                  InvocationEndpoint="http://127.0.0.1:9/hook")
    assert events.describe_api_destination(Name=destination)["ApiDestinationState"] == "ACTIVE"
    events.delete_api_destination(Name=destination)
    events.delete_connection(Name=connection)

    bus = unique_name("bus")
    events.create_event_bus(Name=bus)
    name = unique_name("pipe")
    made = pipes.create_pipe(Name=name, Source="smk://127.0.0.1:9092",
                             SourceParameters={"SelfManagedKafkaParameters": {"TopicName": unique_name("in")}},
                             Target=f"arn:aws:events:us-east-1:{kafka.settings.account}:event-bus/{bus}",
                             RoleArn="arn:aws:iam::000000000000:role/r")
    assert (made["CurrentState"], made["DesiredState"]) == ("CREATING", "RUNNING")
    with pytest.raises(pipes.exceptions.ConflictException):
        pipes.create_pipe(Name=name, Source="kafka:topic/x", Target="kafka:topic/y", RoleArn="arn:aws:iam::000000000000:role/r")
    assert pipes.describe_pipe(Name=name)["Source"] == "smk://127.0.0.1:9092"
    assert (stopped := pipes.stop_pipe(Name=name))["DesiredState"] == "STOPPED" and stopped["CurrentState"] == "STOPPING"
    assert [p["Name"] for p in pipes.list_pipes(NamePrefix=name)["Pipes"]] == [name]
    pipes.tag_resource(resourceArn=made["Arn"], tags={"team": "orders", "drop": "me"})
    pipes.untag_resource(resourceArn=made["Arn"], tagKeys=["drop"])
    assert pipes.list_tags_for_resource(resourceArn=made["Arn"])["tags"] == {"team": "orders"}
    assert pipes.delete_pipe(Name=name)["DesiredState"] == "DELETED"
    with pytest.raises(pipes.exceptions.NotFoundException) as missing:
        pipes.describe_pipe(Name=name)
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    events.delete_event_bus(Name=bus)
    assert bus_topic(bus) not in kafka.admin.topics()
