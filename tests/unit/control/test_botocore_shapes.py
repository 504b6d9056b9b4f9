"""Requests and responses are the shapes botocore's service models define (when botocore is installed).

Every request a scenario sends passes botocore's own parameter validation for its
operation, and every response holds only members of the operation's output shape, each of
the modelled type (timestamps as epoch seconds, as the JSON protocols send them).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

botocore_session = pytest.importorskip("botocore.session", reason="botocore (boto3) is not installed")
from botocore.validate import ParamValidator  # noqa: E402

KEY = b"k" * 32
_PIPES_OPERATIONS = {"CreatePipe", "DescribePipe", "UpdatePipe", "DeletePipe", "ListPipes", "StartPipe", "StopPipe"}
_TYPES: dict[str, tuple[type, ...]] = {"string": (str,), "integer": (int,), "long": (int,), "boolean": (bool,),
                                       "timestamp": (int, float), "double": (int, float), "float": (int, float)}


def models() -> dict[str, Any]:
    session = botocore_session.get_session()
    return {name: session.get_service_model(name) for name in ("events", "pipes")}


def conforms(value: Any, shape: Any, where: str) -> None:
    if shape.type_name == "structure":
        assert isinstance(value, dict), where
        for key, member in value.items():
            assert key in shape.members, f"{where}.{key} is not a member of {shape.name}"
            conforms(member, shape.members[key], f"{where}.{key}")
    elif shape.type_name == "list":
        assert isinstance(value, list), where
        for i, item in enumerate(value):
            conforms(item, shape.member, f"{where}[{i}]")
    elif shape.type_name == "map":
        assert isinstance(value, dict), where
        for k, item in value.items():
            conforms(item, shape.value, f"{where}.{k}")
    else:
        assert isinstance(value, _TYPES[shape.type_name]), f"{where}: {value!r} is not a {shape.type_name}"
        if "enum" in shape.metadata:
            assert value in shape.metadata["enum"], where


def test_scenario_requests_and_responses_match_botocore() -> None:
    from control_support import Local

    services = models()
    plane = Local(key=KEY)
    event = json.dumps({"id": "1", "account": "123456789012", "source": "shop", "time": "2026-12-04T00:00:00Z",
                        "region": "us-east-1", "detail-type": "t", "detail": {}})
    connection_arn = "arn:aws:events:us-east-1:123456789012:connection/c/0a1b2c3d"
    steps: list[tuple[str, dict[str, Any]]] = [
        ("CreateEventBus", {"Name": "orders", "Description": "d", "Tags": [{"Key": "k", "Value": "v"}]}),
        ("DescribeEventBus", {"Name": "orders"}),
        ("ListEventBuses", {"Limit": 1}),
        ("UpdateEventBus", {"Name": "orders", "Description": "e"}),
        ("PutRule", {"Name": "r", "EventBusName": "orders", "EventPattern": '{"source": ["shop"]}', "State": "ENABLED"}),
        ("PutRule", {"Name": "tick", "ScheduleExpression": "rate(5 minutes)"}),
        ("DescribeRule", {"Name": "r", "EventBusName": "orders"}),
        ("ListRules", {"EventBusName": "orders", "Limit": 10}),
        ("DisableRule", {"Name": "r", "EventBusName": "orders"}),
        ("EnableRule", {"Name": "r", "EventBusName": "orders"}),
        ("CreateConnection", {"Name": "c", "AuthorizationType": "BASIC",
                              "AuthParameters": {"BasicAuthParameters": {"Username": "u", "Password": "p"}}}),
        ("DescribeConnection", {"Name": "c"}),
        ("ListConnections", {}),
        ("UpdateConnection", {"Name": "c", "Description": "x"}),
        ("CreateApiDestination", {"Name": "d", "ConnectionArn": connection_arn, "InvocationEndpoint": "https://example.com",
                                  "HttpMethod": "POST"}),
        ("DescribeApiDestination", {"Name": "d"}),
        ("ListApiDestinations", {}),
        ("UpdateApiDestination", {"Name": "d", "InvocationRateLimitPerSecond": 10}),
        ("PutTargets", {"Rule": "r", "EventBusName": "orders", "Targets": [
            {"Id": "q", "Arn": "arn:aws:sqs:us-east-1:123456789012:q", "RetryPolicy": {"MaximumRetryAttempts": 2}},
            {"Id": "d", "Arn": "arn:aws:events:us-east-1:123456789012:api-destination/d/0a1b2c3d"},
            {"Id": "x", "Arn": "arn:aws:states:us-east-1:123456789012:stateMachine:m"}]}),
        ("ListTargetsByRule", {"Rule": "r", "EventBusName": "orders"}),
        ("ListRuleNamesByTarget", {"TargetArn": "arn:aws:sqs:us-east-1:123456789012:q", "EventBusName": "orders"}),
        ("TagResource", {"ResourceARN": "arn:aws:events:us-east-1:123456789012:event-bus/orders", "Tags": [{"Key": "a", "Value": "b"}]}),
        ("ListTagsForResource", {"ResourceARN": "arn:aws:events:us-east-1:123456789012:event-bus/orders"}),
        ("TestEventPattern", {"EventPattern": '{"source": ["shop"]}', "Event": event}),
        ("RemoveTargets", {"Rule": "r", "EventBusName": "orders", "Ids": ["q", "d"]}),
        ("DeleteRule", {"Name": "r", "EventBusName": "orders"}),
        ("DeleteApiDestination", {"Name": "d"}),
        ("DeleteConnection", {"Name": "c"}),
        ("DeleteEventBus", {"Name": "orders"}),
        ("CreatePipe", {"Name": "p", "RoleArn": "arn:aws:iam::123456789012:role/r", "Source": "smk://b.example.com:9092",
                        "SourceParameters": {"SelfManagedKafkaParameters": {"TopicName": "orders", "BatchSize": 5}},
                        "Target": "arn:aws:sqs:us-east-1:123456789012:q", "Tags": {"k": "v"}}),
        ("DescribePipe", {"Name": "p"}),
        ("ListPipes", {}),
        ("StopPipe", {"Name": "p"}),
        ("StartPipe", {"Name": "p"}),
        ("UpdatePipe", {"Name": "p", "RoleArn": "arn:aws:iam::123456789012:role/r", "Description": "d"}),
        ("DeletePipe", {"Name": "p"}),
    ]
    validator = ParamValidator()
    for operation, request in steps:
        model = services["pipes" if operation in _PIPES_OPERATIONS else "events"].operation_model(operation)
        report = validator.validate(request, model.input_shape)
        assert not report.has_errors(), f"{operation}: {report.generate_report()}"
        response = plane.invoke(operation, request)
        if model.output_shape is not None:
            conforms(response, model.output_shape, operation)
        else:
            assert response == {}, operation
