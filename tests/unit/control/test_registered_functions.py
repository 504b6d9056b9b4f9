"""Lambda ARNs to Python functions registered by name, and SQS FIFO message groups, on the pure rules."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from pydantic import ValidationError

from control_support import Local  # beside this file
from eventpipes.control.errors import ControlPlaneError
from eventpipes.control.operations import apply, operation_named, prepare
from eventpipes.control.snapshot import to_topology
from eventpipes.control.state import Request
from eventpipes.settings import Settings, function_registry
from eventpipes.topology.checks import check

PATTERN = json.dumps({"source": ["orders"]})
LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:"
FUNCTIONS = {"order-handler": "shop.handlers:on_order"}


def test_a_lambda_arn_runs_the_function_registered_under_its_name() -> None:
    plane = Local(functions=FUNCTIONS)
    plane.invoke("PutRule", {"Name": "r", "EventPattern": PATTERN})
    result = plane.invoke("PutTargets", {"Rule": "r", "Targets": [
        {"Id": "registered", "Arn": LAMBDA + "order-handler"},
        {"Id": "alias", "Arn": LAMBDA + "order-handler:live"},
        {"Id": "dotted", "Arn": LAMBDA + "shop.audit.record"},
        {"Id": "unknown", "Arn": LAMBDA + "billing-handler"}]})
    assert [e["TargetId"] for e in result["FailedEntries"]] == ["unknown"]
    assert result["FailedEntries"][0]["ErrorMessage"] == (
        f"Target Arn {LAMBDA}billing-handler is not supported: Lambda function billing-handler is not registered "
        "(EVENTPIPES_FUNCTIONS=billing-handler=module:callable registers a Python callable under that name).")
    (rule,) = to_topology(plane.state, plane.context).rules
    assert [(t.id, t.kind, t.destination) for t in rule.targets] == [
        ("registered", "Function", "shop.handlers:on_order"), ("alias", "Function", "shop.handlers:on_order"),
        ("dotted", "Function", "shop.audit:record")]
    assert plane.invoke("ListTargetsByRule", {"Rule": "r"})["Targets"][0]["Arn"] == LAMBDA + "order-handler"  # as put


def test_a_worker_without_the_registration_leaves_the_rule_out_rather_than_guess() -> None:
    plane = Local(functions=FUNCTIONS)
    plane.invoke("PutRule", {"Name": "r", "EventPattern": PATTERN})
    plane.invoke("PutTargets", {"Rule": "r", "Targets": [{"Id": "fn", "Arn": LAMBDA + "order-handler"}]})
    elsewhere = Local()
    assert to_topology(plane.state, elsewhere.context).rules == ()


def test_sqs_message_group_keys_every_record_of_a_queue_target(plane: Any) -> None:
    plane.invoke("PutRule", {"Name": "r", "EventPattern": PATTERN})
    result = plane.invoke("PutTargets", {"Rule": "r", "Targets": [
        {"Id": "fifo", "Arn": "arn:aws:sqs:us-east-1:123456789012:orders.fifo", "SqsParameters": {"MessageGroupId": "orders"}},
        {"Id": "plain", "Arn": "arn:aws:sqs:us-east-1:123456789012:orders", "SqsParameters": {}},
        {"Id": "sns", "Arn": "arn:aws:sns:us-east-1:123456789012:alerts", "SqsParameters": {"MessageGroupId": "g"}},
        {"Id": "long", "Arn": "arn:aws:sqs:us-east-1:123456789012:q.fifo", "SqsParameters": {"MessageGroupId": "g" * 101}}]})
    failed = {e["TargetId"]: e["ErrorMessage"] for e in result["FailedEntries"]}
    assert failed["sns"] == "SqsParameters apply to SQS queue targets only."
    assert set(failed) == {"sns", "long"} and "MessageGroupId" in failed["long"]
    (rule,) = to_topology(plane.state, plane.context).rules
    fifo, plain = rule.targets
    assert (fifo.kind, fifo.destination, fifo.message_group_id) == ("Topic", "orders.fifo", "orders")
    assert (plain.destination, plain.message_group_id) == ("orders", None)
    assert check(to_topology(plane.state, plane.context)) == []


def test_pipe_targets_and_enrichments_by_registered_lambda_names() -> None:
    plane = Local(functions={**FUNCTIONS, "enrich": "shop.enrich:add"})
    plane.invoke("CreatePipe", {"Name": "p", "Source": "kafka:topic/in", "Target": LAMBDA + "order-handler",
                                "Enrichment": LAMBDA + "enrich"})
    (pipe,) = to_topology(plane.state, plane.context).pipes
    assert (pipe.target, pipe.enrichment) == ("function:shop.handlers:on_order", "function:shop.enrich:add")
    with pytest.raises(ControlPlaneError) as refused:
        plane.invoke("UpdatePipe", {"Name": "p", "Target": LAMBDA + "nobody"})
    assert refused.value.code == "ValidationException" and "Lambda function nobody is not registered" in refused.value.message
    with pytest.raises(ControlPlaneError):
        plane.invoke("CreatePipe", {"Name": "q", "Source": "kafka:topic/in", "Target": LAMBDA + "nobody"})


def test_applying_an_update_does_not_depend_on_the_readers_registry() -> None:
    """Every reader of the log must reach the same state: a reader without the registration applies the update too."""
    writer, reader = Local(functions=FUNCTIONS), Local()
    create = {"Name": "p", "Source": "kafka:topic/in", "Target": "topic:out"}
    for plane in (writer, reader):
        plane.invoke("CreatePipe", create)
    update = prepare(operation_named("UpdatePipe"), {"Name": "p", "Target": LAMBDA + "order-handler"}, writer.context)
    record = Request("u1", "UpdatePipe", update, writer.time_ms + 1000)
    for plane in (writer, reader):
        apply(plane.state, Request.decode(record.encode()), plane.context)
    assert writer.state.pipes["p"]["Target"] == reader.state.pipes["p"]["Target"] == LAMBDA + "order-handler"
    assert copy.deepcopy(writer.state.pipes) == reader.state.pipes


def test_the_registry_variable() -> None:
    assert function_registry(" order-handler=shop.handlers:on_order , a_b=m:f,") == {
        "order-handler": "shop.handlers:on_order", "a_b": "m:f"}
    assert Settings(EVENTPIPES_FUNCTIONS="x=m:f").function_registry == {"x": "m:f"}
    for bad, reason in (("order-handler", "is not NAME=module:callable"), ("a.b=m:f", "is not NAME=module:callable"),
                        ("x=m:f,x=n:g", "function x is registered twice")):
        with pytest.raises(ValidationError) as error:
            Settings(EVENTPIPES_FUNCTIONS=bad)
        assert reason in str(error.value)


def test_message_group_id_is_a_topic_targets_key_only() -> None:
    from eventpipes.topology.model import Target

    assert Target.model_validate({"Id": "q", "Topic": "orders.fifo", "MessageGroupId": "g"}).message_group_id == "g"
    for body, reason in (({"Id": "b", "EventBus": "other", "MessageGroupId": "g"}, "MessageGroupId applies to Topic targets only"),
                         ({"Id": "t", "Topic": "t", "MessageGroupId": "g", "PartitionKeyPath": "$.id"}, "mutually exclusive")):
        with pytest.raises(ValidationError) as error:
            Target.model_validate(body)
        assert reason in str(error.value)
