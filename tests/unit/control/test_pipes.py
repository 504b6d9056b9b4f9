"""Pipes on the pure rules: Pipes' states and errors, and the mapping of sources and targets."""

from __future__ import annotations

import json
from typing import Any

import pytest

from eventpipes.control.errors import ControlPlaneError
from eventpipes.control.snapshot import to_topology
from eventpipes.topology.checks import check

ROLE = "arn:aws:iam::123456789012:role/pipes"
SMK = {"Name": "p", "Source": "smk://broker-1.example.com:9092", "RoleArn": ROLE,
       "SourceParameters": {"SelfManagedKafkaParameters": {"TopicName": "orders", "BatchSize": 10, "StartingPosition": "TRIM_HORIZON"},
                            "FilterCriteria": {"Filters": [{"Pattern": json.dumps({"value": {"kind": ["a"]}})}]}},
       "Target": "arn:aws:events:us-east-1:123456789012:event-bus/billing",
       "TargetParameters": {"EventBridgeEventBusParameters": {"DetailType": "order", "Source": "shop"}}}


def fails(plane: Any, operation: str, request: dict[str, Any], code: str, message: str) -> None:
    with pytest.raises(ControlPlaneError) as caught:
        plane.invoke(operation, request)
    assert (caught.value.code, caught.value.message) == (code, message)


def test_lifecycle_reports_pipes_states(plane: Any) -> None:
    created = plane.invoke("CreatePipe", SMK)
    assert (created["Arn"], created["DesiredState"], created["CurrentState"]) == (
        "arn:aws:pipes:us-east-1:123456789012:pipe/p", "RUNNING", "CREATING")
    described = plane.invoke("DescribePipe", {"Name": "p"})
    assert described["CurrentState"] == "RUNNING" and described["Source"] == SMK["Source"]
    assert described["SourceParameters"] == SMK["SourceParameters"] and described["RoleArn"] == ROLE
    assert plane.invoke("StopPipe", {"Name": "p"})["CurrentState"] == "STOPPING"
    assert plane.invoke("DescribePipe", {"Name": "p"})["DesiredState"] == "STOPPED"
    assert plane.invoke("StartPipe", {"Name": "p"})["CurrentState"] == "STARTING"
    updated = plane.invoke("UpdatePipe", {"Name": "p", "RoleArn": ROLE, "Description": "d",
                                          "SourceParameters": {"SelfManagedKafkaParameters": {"BatchSize": 50}}})
    assert updated["CurrentState"] == "UPDATING"
    after = plane.invoke("DescribePipe", {"Name": "p"})
    assert after["SourceParameters"]["SelfManagedKafkaParameters"] == {"TopicName": "orders", "BatchSize": 50, "StartingPosition": "TRIM_HORIZON"}
    listed = plane.invoke("ListPipes", {"SourcePrefix": "smk://"})["Pipes"]
    assert [(p["Name"], p["CurrentState"], p["Target"]) for p in listed] == [("p", "RUNNING", SMK["Target"])]
    assert plane.invoke("ListPipes", {"DesiredState": "STOPPED"}) == {"Pipes": []}
    deleted = plane.invoke("DeletePipe", {"Name": "p"})
    assert (deleted["DesiredState"], deleted["CurrentState"]) == ("DELETED", "DELETING")
    fails(plane, "DescribePipe", {"Name": "p"}, "NotFoundException", "Pipe p does not exist.")
    fails(plane, "StartPipe", {"Name": "p"}, "NotFoundException", "Pipe p does not exist.")


def test_snapshot_maps_sources_and_targets_onto_the_pipe_model(plane: Any) -> None:
    plane.invoke("CreatePipe", SMK)
    plane.invoke("CreatePipe", {"Name": "q", "Source": "arn:aws:sqs:us-east-1:123456789012:jobs",
                                "SourceParameters": {"SqsQueueParameters": {"BatchSize": 5}},
                                "Enrichment": "arn:aws:lambda:us-east-1:123456789012:function:shop.enrich.add",
                                "Target": "kafka:topic/jobs.done", "DesiredState": "STOPPED"})
    plane.invoke("CreatePipe", {"Name": "ddb", "Source": "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026",
                                "SourceParameters": {"DynamoDBStreamParameters": {
                                    "StartingPosition": "LATEST", "DeadLetterConfig": {"Arn": "arn:aws:sqs:us-east-1:123456789012:ddb-dlq"}}},
                                "Target": "https://hooks.example.com/in"})
    topology = to_topology(plane.state, plane.context)
    assert check(topology) == []  # a topology a worker accepts
    pipes = {p.name: p for p in topology.pipes}
    p = pipes["p"]
    assert (p.source_topic, p.target, p.stream.batch_size, p.stream.starting_position) == ("orders", "bus:billing", 10, "TRIM_HORIZON")
    assert p.filters and p.target_parameters.eventbridge_event_bus.detail_type == "order"
    q = pipes["q"]
    assert (q.source_topic, q.enrichment, q.target, q.desired_state, q.stream.batch_size) == (
        "jobs", "function:shop.enrich:add", "topic:jobs.done", "STOPPED", 5)
    ddb = pipes["ddb"]
    assert (ddb.source_topic, ddb.source_kind, ddb.target, ddb.stream.dead_letter_config.topic) == (
        "orders", "dynamodb", "https://hooks.example.com/in", "ddb-dlq")


def test_pipe_errors(plane: Any) -> None:
    plane.invoke("CreatePipe", SMK)
    fails(plane, "CreatePipe", SMK, "ConflictException", "Pipe p already exists.")
    fails(plane, "CreatePipe", {**SMK, "Name": "x", "SourceParameters": {"SelfManagedKafkaParameters": {"BatchSize": 1}}},
          "ValidationException", "A Kafka source needs SourceParameters.SelfManagedKafkaParameters.TopicName.")
    fails(plane, "CreatePipe", {**SMK, "Name": "x", "Source": "arn:aws:mq:us-east-1:123456789012:broker:b:id"},
          "ValidationException", "Source arn:aws:mq:us-east-1:123456789012:broker:b:id is not supported: eventpipes reads smk://, "
          "MSK, kafka:topic/, SQS, Kinesis and DynamoDB stream sources from its Kafka cluster.")
    fails(plane, "CreatePipe", {**SMK, "Name": "x", "SourceParameters": {"SelfManagedKafkaParameters": {
        "TopicName": "t", "Credentials": {"BasicAuth": "arn:aws:secretsmanager:us-east-1:123456789012:secret:s"}}}},
          "ValidationException", "SourceParameters.SelfManagedKafkaParameters.Credentials is not supported by eventpipes.")
    fails(plane, "CreatePipe", {**SMK, "Name": "x", "Target": "arn:aws:events:us-east-1:123456789012:api-destination/d"},
          "ValidationException", "Target arn:aws:events:us-east-1:123456789012:api-destination/d is not supported by eventpipes' pipes.")
    with pytest.raises(ControlPlaneError) as caught:
        plane.invoke("CreatePipe", {**SMK, "Name": "x", "SourceParameters": {"SelfManagedKafkaParameters": {"TopicName": "t", "BatchSize": 0}}})
    assert caught.value.code == "ValidationException" and "BatchSize" in caught.value.message
    fails(plane, "UpdatePipe", {"Name": "p", "Source": "kafka:topic/other"}, "ValidationException",
          "Source cannot be changed by UpdatePipe; delete the pipe and create it again.")
    fails(plane, "CreatePipe", {"Name": "y"}, "ValidationException",
          "2 validation errors detected: Value null at 'source' failed to satisfy constraint: Member must not be null; "
          "Value null at 'target' failed to satisfy constraint: Member must not be null")


def test_a_filter_a_worker_could_not_compile_is_refused(plane: Any) -> None:
    with pytest.raises(ControlPlaneError) as caught:
        plane.invoke("CreatePipe", {**SMK, "Name": "f", "SourceParameters": {
            "SelfManagedKafkaParameters": {"TopicName": "t"}, "FilterCriteria": {"Filters": [{"Pattern": '{"value": "x"}'}]}}})
    assert caught.value.code == "ValidationException" and "FilterCriteria.Filters[0].Pattern" in caught.value.message


def test_eventpipes_own_uris_and_debezium_sources(plane: Any) -> None:
    plane.invoke("CreatePipe", {"Name": "own", "Source": "kafka:topic/in", "Target": "topic:out",
                                "Enrichment": "function:shop.enrich:add"})
    plane.invoke("CreatePipe", {"Name": "cdc", "Source": "arn:aws:dynamodb:us-east-1:123456789012:table/dbserver.inventory.orders/stream/x",
                                "SourceParameters": {"DynamoDBStreamParameters": {"StartingPosition": "TRIM_HORIZON",
                                                                                  "ChangeEventFormat": "DEBEZIUM"}},
                                "Target": "bus:orders"})
    pipes = {p.name: p for p in to_topology(plane.state, plane.context).pipes}
    assert (pipes["own"].target, pipes["own"].enrichment) == ("topic:out", "function:shop.enrich:add")
    assert (pipes["cdc"].source_kind, pipes["cdc"].source_topic) == ("debezium", "dbserver.inventory.orders")
