"""Rules and targets on the pure rules: AWS's fields, codes and messages, and the snapshot."""

from __future__ import annotations

import json
from typing import Any

import pytest

from eventpipes.control.errors import ControlPlaneError
from eventpipes.control.snapshot import to_topology
from eventpipes.topology.checks import check

PATTERN = json.dumps({"source": ["orders"]})
QUEUE = "arn:aws:sqs:us-east-1:123456789012:orders-queue"


def fails(plane: Any, operation: str, request: dict[str, Any], code: str, message: str) -> ControlPlaneError:
    with pytest.raises(ControlPlaneError) as caught:
        plane.invoke(operation, request)
    assert (caught.value.code, caught.value.message) == (code, message)
    return caught.value


def test_put_describe_list_enable_disable(plane: Any) -> None:
    arn = plane.invoke("PutRule", {"Name": "r1", "EventPattern": PATTERN, "Description": "d"})["RuleArn"]
    assert arn == "arn:aws:events:us-east-1:123456789012:rule/r1"
    described = plane.invoke("DescribeRule", {"Name": "r1"})
    assert described == {"Name": "r1", "Arn": arn, "EventPattern": PATTERN, "State": "ENABLED", "Description": "d",
                         "EventBusName": "default", "CreatedBy": "123456789012"}
    plane.invoke("DisableRule", {"Name": "r1"})
    assert plane.invoke("DescribeRule", {"Name": "r1"})["State"] == "DISABLED"
    plane.invoke("EnableRule", {"Name": "r1", "EventBusName": "default"})
    assert plane.invoke("ListRules", {})["Rules"] == [{k: v for k, v in described.items() if k != "CreatedBy"}]
    # PutRule again replaces the definition (here: no description) and keeps the rule's targets.
    plane.invoke("PutTargets", {"Rule": "r1", "Targets": [{"Id": "t1", "Arn": QUEUE}]})
    plane.invoke("PutRule", {"Name": "r1", "EventPattern": PATTERN})
    assert "Description" not in plane.invoke("DescribeRule", {"Name": "r1"})
    assert [t["Id"] for t in plane.invoke("ListTargetsByRule", {"Rule": "r1"})["Targets"]] == ["t1"]


def test_rules_on_a_custom_bus_by_name_or_arn(plane: Any) -> None:
    fails(plane, "PutRule", {"Name": "r", "EventPattern": PATTERN, "EventBusName": "orders"},
          "ResourceNotFoundException", "Event bus orders does not exist.")
    bus_arn = plane.invoke("CreateEventBus", {"Name": "orders"})["EventBusArn"]
    arn = plane.invoke("PutRule", {"Name": "r", "EventPattern": PATTERN, "EventBusName": bus_arn})["RuleArn"]
    assert arn == "arn:aws:events:us-east-1:123456789012:rule/orders/r"
    assert plane.invoke("DescribeRule", {"Name": "r", "EventBusName": "orders"})["EventBusName"] == "orders"
    fails(plane, "DescribeRule", {"Name": "r"}, "ResourceNotFoundException", "Rule r does not exist on EventBus default.")
    fails(plane, "DescribeRule", {"Name": "x", "EventBusName": "orders"}, "ResourceNotFoundException",
          "Rule x does not exist on EventBus orders.")
    assert plane.invoke("ListRules", {}).get("Rules") == []
    plane.invoke("DeleteEventBus", {"Name": "orders"})
    fails(plane, "ListRules", {"EventBusName": "orders"}, "ResourceNotFoundException", "Event bus orders does not exist.")


def test_put_rule_checks(plane: Any) -> None:
    fails(plane, "PutRule", {"Name": "r"}, "ValidationException",
          "Parameter(s) EventPattern or ScheduleExpression must be specified.")
    error = fails(plane, "PutRule", {"Name": "r", "EventPattern": '{"source": "orders"}'}, "InvalidEventPatternException",
                  "Event pattern is not valid. Reason: \"source\" must be an object or an array")
    assert error.path == "source"
    fails(plane, "PutRule", {"Name": "r", "EventPattern": "{"}, "InvalidEventPatternException",
          "Event pattern is not valid. Reason: Filter is not valid JSON")
    fails(plane, "PutRule", {"Name": "r", "ScheduleExpression": "rate(1 minutes)"}, "ValidationException",
          "Parameter ScheduleExpression is not valid.")
    plane.invoke("CreateEventBus", {"Name": "b"})
    fails(plane, "PutRule", {"Name": "r", "ScheduleExpression": "rate(5 minutes)", "EventBusName": "b"}, "ValidationException",
          "ScheduleExpression is supported only on the default event bus.")
    fails(plane, "PutRule", {"Name": "r r", "EventPattern": PATTERN, "State": "ON"}, "ValidationException",
          "2 validation errors detected: Value 'r r' at 'name' failed to satisfy constraint: Member must satisfy regular "
          "expression pattern: [\\.\\-_A-Za-z0-9]+; Value 'ON' at 'state' failed to satisfy constraint: Member must "
          "satisfy enum value set: [ENABLED, DISABLED, ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS]")
    plane.invoke("PutRule", {"Name": "tick", "ScheduleExpression": "rate(5 minutes)", "State": "DISABLED"})
    assert plane.invoke("DescribeRule", {"Name": "tick"})["ScheduleExpression"] == "rate(5 minutes)"


def test_rules_per_bus_limit(plane: Any) -> None:
    from control_support import Local

    small = Local(rules_per_bus=2)
    for name in ("a", "b"):
        small.invoke("PutRule", {"Name": name, "EventPattern": PATTERN})
    fails(small, "PutRule", {"Name": "c", "EventPattern": PATTERN}, "LimitExceededException",
          "The requested resource exceeds the maximum number allowed.")
    small.invoke("PutRule", {"Name": "a", "EventPattern": PATTERN, "Description": "an update is not a new rule"})


def test_enable_disable_missing_rule(plane: Any) -> None:
    fails(plane, "EnableRule", {"Name": "nope"}, "ResourceNotFoundException", "Rule nope does not exist on EventBus default.")
    fails(plane, "DisableRule", {"Name": "nope"}, "ResourceNotFoundException", "Rule nope does not exist on EventBus default.")


def test_delete_rule(plane: Any) -> None:
    assert plane.invoke("DeleteRule", {"Name": "never-made"}) == {}
    plane.invoke("PutRule", {"Name": "r", "EventPattern": PATTERN})
    plane.invoke("PutTargets", {"Rule": "r", "Targets": [{"Id": "t", "Arn": QUEUE}]})
    fails(plane, "DeleteRule", {"Name": "r"}, "ValidationException", "Rule can't be deleted since it has targets.")
    assert plane.invoke("RemoveTargets", {"Rule": "r", "Ids": ["t", "not-there"]}) == {"FailedEntryCount": 0, "FailedEntries": []}
    plane.invoke("DeleteRule", {"Name": "r"})
    fails(plane, "DescribeRule", {"Name": "r"}, "ResourceNotFoundException", "Rule r does not exist on EventBus default.")


def test_put_targets_reports_per_target_failures_and_limits(plane: Any) -> None:
    fails(plane, "PutTargets", {"Rule": "r", "Targets": [{"Id": "t", "Arn": QUEUE}]}, "ResourceNotFoundException",
          "Rule r does not exist on EventBus default.")
    plane.invoke("PutRule", {"Name": "r", "EventPattern": PATTERN})
    fails(plane, "PutTargets", {"Rule": "r", "Targets": [{"Id": "bad id", "Arn": QUEUE}, {"Id": "ok"}]}, "ValidationException",
          "2 validation errors detected: Value 'bad id' at 'targets.1.member.id' failed to satisfy constraint: Member must "
          "satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+; Value null at 'targets.2.member.arn' failed to satisfy "
          "constraint: Member must not be null")
    result = plane.invoke("PutTargets", {"Rule": "r", "Targets": [
        {"Id": "good", "Arn": QUEUE},
        {"Id": "ecs", "Arn": "arn:aws:ecs:us-east-1:123456789012:cluster/c", "EcsParameters": {"TaskDefinitionArn": "x"}},
        {"Id": "nowhere", "Arn": "arn:aws:states:us-east-1:123456789012:stateMachine:m"},
    ]})
    assert result["FailedEntryCount"] == 2
    assert [(e["TargetId"], e["ErrorCode"]) for e in result["FailedEntries"]] == [("ecs", "ValidationException"), ("nowhere", "ValidationException")]
    assert result["FailedEntries"][0]["ErrorMessage"] == "EcsParameters is not supported by eventpipes."
    assert "arn:aws:states" in result["FailedEntries"][1]["ErrorMessage"]
    assert [t["Id"] for t in plane.invoke("ListTargetsByRule", {"Rule": "r"})["Targets"]] == ["good"]
    plane.invoke("PutTargets", {"Rule": "r", "Targets": [{"Id": f"t{i}", "Arn": QUEUE} for i in range(4)]})
    fails(plane, "PutTargets", {"Rule": "r", "Targets": [{"Id": "sixth", "Arn": QUEUE}]}, "LimitExceededException",
          "The requested resource exceeds the maximum number allowed.")
    plane.invoke("PutTargets", {"Rule": "r", "Targets": [{"Id": "good", "Arn": "kafka:topic/replaced"}]})  # same id: replaced
    page1 = plane.invoke("ListTargetsByRule", {"Rule": "r", "Limit": 3})
    page2 = plane.invoke("ListTargetsByRule", {"Rule": "r", "Limit": 3, "NextToken": page1["NextToken"]})
    assert [t["Id"] for t in page1["Targets"] + page2["Targets"]] == ["good", "t0", "t1", "t2", "t3"]
    assert plane.invoke("ListRuleNamesByTarget", {"TargetArn": QUEUE}) == {"RuleNames": ["r"]}
    assert plane.invoke("ListRuleNamesByTarget", {"TargetArn": "kafka:topic/other"}) == {"RuleNames": []}


def with_bus_and_destination() -> Any:
    from control_support import Local

    plane = Local(key=b"k" * 32)
    plane.invoke("CreateEventBus", {"Name": "other"})
    plane.invoke("CreateConnection", {"Name": "c", "AuthorizationType": "API_KEY",
                                      "AuthParameters": {"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}}})
    plane.invoke("CreateApiDestination", {"Name": "hook", "ConnectionArn": "arn:aws:events:us-east-1:123456789012:connection/c",
                                          "InvocationEndpoint": "https://example.com", "HttpMethod": "POST"})
    return plane


def test_target_arns_map_onto_eventpipes_kinds() -> None:
    plane = with_bus_and_destination()
    plane.invoke("PutRule", {"Name": "r", "EventPattern": PATTERN})
    targets = [
        {"Id": "bus", "Arn": "arn:aws:events:us-east-1:123456789012:event-bus/other", "InputPath": "$.detail"},
        {"Id": "api", "Arn": "arn:aws:events:us-east-1:123456789012:api-destination/hook/6f3c1e2a-1111",
         "HttpParameters": {"PathParameterValues": ["a"], "HeaderParameters": {"h": "v"}}},
        {"Id": "kinesis", "Arn": "arn:aws:kinesis:us-east-1:123456789012:stream/clicks",
         "KinesisParameters": {"PartitionKeyPath": "$.detail.user"},
         "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 120},
         "DeadLetterConfig": {"Arn": "arn:aws:sqs:us-east-1:123456789012:clicks-dlq"}},
        {"Id": "fn", "Arn": "arn:aws:lambda:us-east-1:123456789012:function:shop.handlers.on_order",
         "InputTransformer": {"InputPathsMap": {"id": "$.id"}, "InputTemplate": '{"id": <id>}'}},
        {"Id": "sns", "Arn": "arn:aws:sns:us-east-1:123456789012:alerts", "Input": '{"fixed": true}'},
    ]
    assert plane.invoke("PutTargets", {"Rule": "r", "Targets": targets})["FailedEntryCount"] == 0
    (rule,) = to_topology(plane.state, plane.context).rules
    by_id = {t.id: t for t in rule.targets}
    assert (by_id["bus"].kind, by_id["bus"].destination, by_id["bus"].input_path) == ("EventBus", "other", "$.detail")
    assert (by_id["api"].kind, by_id["api"].destination) == ("ApiDestination", "hook")
    assert by_id["api"].http_parameters.path_parameter_values == ("a",)
    kinesis = by_id["kinesis"]
    assert (kinesis.kind, kinesis.destination, kinesis.partition_key_path) == ("Topic", "clicks", "$.detail.user")
    assert kinesis.dead_letter_config.topic == "clicks-dlq" and kinesis.retry_policy.maximum_retry_attempts == 3
    assert (by_id["fn"].kind, by_id["fn"].destination) == ("Function", "shop.handlers:on_order")
    assert (by_id["sns"].kind, by_id["sns"].destination, by_id["sns"].input) == ("Topic", "alerts", '{"fixed": true}')
    # The list returns the targets as they were put, and the snapshot is a topology a worker accepts.
    assert plane.invoke("ListTargetsByRule", {"Rule": "r"})["Targets"] == targets
    assert check(to_topology(plane.state, plane.context)) == []


def test_partition_key_path_on_kafka_topic_targets_not_on_queues(plane: Any) -> None:
    plane.invoke("PutRule", {"Name": "r", "EventPattern": PATTERN})
    result = plane.invoke("PutTargets", {"Rule": "r", "Targets": [
        {"Id": "k", "Arn": "kafka:topic/clicks", "KinesisParameters": {"PartitionKeyPath": "$.detail.user"}},
        {"Id": "q", "Arn": QUEUE, "KinesisParameters": {"PartitionKeyPath": "$.detail.user"}}]})
    assert [e["TargetId"] for e in result["FailedEntries"]] == ["q"]
    (rule,) = to_topology(plane.state, plane.context).rules
    assert rule.targets[0].partition_key_path == "$.detail.user"


def test_targets_must_name_buses_and_destinations_that_exist() -> None:
    plane = with_bus_and_destination()
    plane.invoke("PutRule", {"Name": "r", "EventPattern": PATTERN, "EventBusName": "other"})
    result = plane.invoke("PutTargets", {"Rule": "r", "EventBusName": "other", "Targets": [
        {"Id": "self", "Arn": "arn:aws:events:us-east-1:123456789012:event-bus/other"},
        {"Id": "ok", "Arn": "arn:aws:events:us-east-1:123456789012:event-bus/default"},
        {"Id": "bad-input", "Arn": QUEUE, "InputPath": "detail"},
        {"Id": "nobus", "Arn": "arn:aws:events:us-east-1:123456789012:event-bus/missing"},
        {"Id": "nodest", "Arn": "arn:aws:events:us-east-1:123456789012:api-destination/missing"},
    ]})
    assert [(e["TargetId"], e["ErrorCode"]) for e in result["FailedEntries"]] == [
        ("self", "ValidationException"), ("bad-input", "ValidationException"), ("nobus", "ResourceNotFoundException"),
        ("nodest", "ResourceNotFoundException")]
    messages = [e["ErrorMessage"] for e in result["FailedEntries"]]
    assert messages[0] == "A rule on event bus other cannot target the same event bus."
    assert messages[2:] == ["Event bus missing does not exist.",
                            "Failed to describe the api-destination(s). An api-destination 'missing' does not exist."]
    # A bus some rule's target names cannot be deleted; the rule's own bus can, with its rules.
    plane.invoke("PutRule", {"Name": "to-other", "EventPattern": PATTERN})
    plane.invoke("PutTargets", {"Rule": "to-other", "Targets": [{"Id": "t", "Arn": "arn:aws:events:us-east-1:123456789012:event-bus/other"}]})
    fails(plane, "DeleteEventBus", {"Name": "other"}, "ValidationException",
          "Event bus other is the target of rule to-other on event bus default; remove that target first.")
    plane.invoke("RemoveTargets", {"Rule": "to-other", "Ids": ["t"]})
    plane.invoke("DeleteEventBus", {"Name": "other"})
    assert [name for name, _ in [(r.name, r) for r in to_topology(plane.state, plane.context).rules]] == ["to-other"]


def test_lambda_name_without_a_dotted_path_fails_that_target(plane: Any) -> None:
    plane.invoke("PutRule", {"Name": "r", "EventPattern": PATTERN})
    result = plane.invoke("PutTargets", {"Rule": "r", "Targets": [
        {"Id": "fn", "Arn": "arn:aws:lambda:us-east-1:123456789012:function:my-function"}]})
    assert result["FailedEntryCount"] == 1


def test_snapshot_holds_rules_with_state_and_pattern(plane: Any) -> None:
    plane.invoke("CreateEventBus", {"Name": "orders", "Description": "o"})
    plane.invoke("PutRule", {"Name": "r", "EventPattern": PATTERN, "EventBusName": "orders", "State": "DISABLED"})
    topology = to_topology(plane.state, plane.context)
    assert [b.name for b in topology.event_buses] == ["orders"]
    (rule,) = topology.rules
    assert (rule.name, rule.event_bus_name, rule.state, rule.event_pattern) == ("r", "orders", "DISABLED", {"source": ["orders"]})
