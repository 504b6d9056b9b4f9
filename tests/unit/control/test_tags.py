"""Tags (EventBridge's and Pipes' shapes) and TestEventPattern on the pure rules."""

from __future__ import annotations

import json
from typing import Any

import pytest

from eventpipes.control.errors import ControlPlaneError

BUS_ARN = "arn:aws:events:us-east-1:123456789012:event-bus/orders"
EVENT = json.dumps({"id": "1", "account": "123456789012", "source": "shop", "time": "2026-12-04T00:00:00Z",
                    "region": "us-east-1", "detail-type": "t", "detail": {}})


def test_events_tags_on_buses_and_rules(plane: Any) -> None:
    plane.invoke("CreateEventBus", {"Name": "orders", "Tags": [{"Key": "team", "Value": "a"}]})
    plane.invoke("TagResource", {"ResourceARN": BUS_ARN, "Tags": [{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "b"}]})
    assert plane.invoke("ListTagsForResource", {"ResourceARN": BUS_ARN}) == {
        "Tags": [{"Key": "team", "Value": "b"}, {"Key": "env", "Value": "prod"}]}
    plane.invoke("UntagResource", {"ResourceARN": BUS_ARN, "TagKeys": ["team"]})
    assert plane.invoke("ListTagsForResource", {"ResourceARN": BUS_ARN}) == {"Tags": [{"Key": "env", "Value": "prod"}]}
    rule_arn = plane.invoke("PutRule", {"Name": "r", "EventBusName": "orders", "EventPattern": '{"source": ["a"]}',
                                        "Tags": [{"Key": "k", "Value": "v"}]})["RuleArn"]
    plane.invoke("PutRule", {"Name": "r", "EventBusName": "orders", "EventPattern": '{"source": ["b"]}'})
    assert plane.invoke("ListTagsForResource", {"ResourceARN": rule_arn}) == {"Tags": [{"Key": "k", "Value": "v"}]}
    assert "Tags" not in plane.invoke("DescribeRule", {"Name": "r", "EventBusName": "orders"})
    with pytest.raises(ControlPlaneError) as caught:
        plane.invoke("TagResource", {"ResourceARN": "arn:aws:events:us-east-1:123456789012:rule/orders/nope", "Tags": []})
    assert (caught.value.code, caught.value.message) == ("ResourceNotFoundException", "Rule nope does not exist on EventBus orders.")


def test_pipes_tags_use_pipes_shapes(plane: Any) -> None:
    arn = plane.invoke("CreatePipe", {"Name": "p", "Source": "kafka:topic/a", "Target": "kafka:topic/b", "Tags": {"x": "1"}})["Arn"]
    plane.invoke("TagResource", {"resourceArn": arn, "tags": {"y": "2"}})
    assert plane.invoke("ListTagsForResource", {"resourceArn": arn}) == {"tags": {"x": "1", "y": "2"}}
    plane.invoke("UntagResource", {"resourceArn": arn, "tagKeys": ["x"]})
    assert plane.invoke("DescribePipe", {"Name": "p"})["Tags"] == {"y": "2"}
    with pytest.raises(ControlPlaneError) as caught:
        plane.invoke("ListTagsForResource", {"resourceArn": arn + "x"})
    assert caught.value.code == "NotFoundException"


def test_test_event_pattern(plane: Any) -> None:
    assert plane.invoke("TestEventPattern", {"EventPattern": '{"source": ["shop"]}', "Event": EVENT}) == {"Result": True}
    assert plane.invoke("TestEventPattern", {"EventPattern": '{"source": ["other"]}', "Event": EVENT}) == {"Result": False}
    with pytest.raises(ControlPlaneError) as caught:
        plane.invoke("TestEventPattern", {"EventPattern": '{"source": ["shop"]}', "Event": '{"source": "shop"}'})
    assert caught.value.code == "ValidationException" and caught.value.message.startswith("Parameter Event is not valid.")
    with pytest.raises(ControlPlaneError) as caught:
        plane.invoke("TestEventPattern", {"EventPattern": '{"source": "shop"}', "Event": EVENT})
    assert caught.value.code == "InvalidEventPatternException"
