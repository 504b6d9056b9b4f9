"""Every example on EventBridge's input transformation page, plus outputs recorded from EventBridge.

The page's event, InputPathsMap and templates are used as published; expected outputs
are the page's, minified (EventBridge passes JSON on minified).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from eventpipes.transform import ObjectInsideQuotes, render, target_input_from_dict

EC2_EVENT: dict[str, Any] = {
    "version": "0",
    "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "123456789012",
    "time": "2015-11-11T21:29:54Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
    "detail": {"instance-id": "i-0123456789", "state": "RUNNING"},
}

PATHS = {
    "timestamp": "$.time",
    "instance": "$.detail.instance-id",
    "state": "$.detail.state",
    "resource": "$.resources[0]",
}

RULE_ARN = "arn:aws:events:us-east-2:123456789012:rule/example"
INGESTED = "2015-11-11T21:29:55Z"


def run(template: str, paths: dict[str, str] | None = None, event: dict[str, Any] | None = None) -> str:
    target = {"Id": "t1", "InputTransformer": {"InputPathsMap": PATHS if paths is None else paths,
                                               "InputTemplate": template}}
    body = render(target_input_from_dict(target), EC2_EVENT if event is None else event,
                  rule_name="example", rule_arn=RULE_ARN, ingestion_time=INGESTED)
    return body.decode()


@pytest.mark.parametrize(("template", "expected"), [
    pytest.param('"instance <instance> is in <state>"', '"instance i-0123456789 is in RUNNING"',
                 id="simple string"),
    pytest.param('"instance \\"<instance>\\" is in <state>"', '"instance \\"i-0123456789\\" is in RUNNING"',
                 id="string with escaped quotes"),
    pytest.param('{\n  "instance" : <instance>,\n  "state": <state>\n}',
                 '{"instance":"i-0123456789","state":"RUNNING"}', id="simple JSON"),
    pytest.param('{\n "instance" : <instance>,\n "state": "<state>",\n'
                 ' "instanceStatus": "instance \\"<instance>\\" is in <state>"\n}',
                 '{"instance":"i-0123456789","state":"RUNNING",'
                 '"instanceStatus":"instance \\"i-0123456789\\" is in RUNNING"}',
                 id="JSON with strings and variables"),
    pytest.param('{\n  "instance" : <instance>,\n  "state": [ 9, <state>, true ],\n  "Transformed" : "Yes"\n}\n',
                 '{"instance":"i-0123456789","state":[9,"RUNNING",true],"Transformed":"Yes"}',
                 id="JSON with a mix of variables and static information"),
    pytest.param('"<aws.events.rule-name> triggered"', '"example triggered"',
                 id="reserved variables in a string"),
])
def test_user_guide_examples(template: str, expected: str) -> None:
    assert run(template) == expected


def test_user_guide_reserved_variables_in_json() -> None:
    template = ('{\n  "instance" : <instance>,\n  "state": <state>,\n  "ruleArn" : <aws.events.rule-arn>,\n'
                '  "ruleName" : <aws.events.rule-name>,\n  "originalEvent" : <aws.events.event>\n}')
    body = json.loads(run(template))
    assert body["instance"] == "i-0123456789"
    assert body["state"] == "RUNNING"
    assert body["ruleArn"] == RULE_ARN
    assert body["ruleName"] == "example"
    assert body["originalEvent"]["id"] == EC2_EVENT["id"]


def test_api_reference_examples() -> None:
    paths = {"instance": "$.detail.instance", "status": "$.detail.status"}
    event = dict(EC2_EVENT, detail={"instance": "i-1", "status": "stopped"})
    assert run("<instance> is in state <status>", paths, event) == "i-1 is in state stopped"
    assert run('<instance> is in state "<status>"', paths, event) == 'i-1 is in state "stopped"'
    assert run('{"myInstance": <instance>,"myStatus": "<instance> is in state \\"<status>\\""}', paths, event) == (
        '{"myInstance":"i-1","myStatus":"i-1 is in state \\"stopped\\""}')


def test_resource_path_with_array_index() -> None:
    assert run('{"resource": <resource>}') == (
        '{"resource":"arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"}')


# Recorded from EventBridge (SQS target bodies).

def test_recorded_string_template_missing_variable_is_empty() -> None:
    template = '"Event of <detail-type> type, at time <timestamp>, info extracted from detail <command>"'
    paths = {"detail-type": "$.detail-type", "timestamp": "$.time", "command": "$.detail.notinmessage"}
    assert run(template, paths) == (
        '"Event of EC2 Instance State-change Notification type, at time 2015-11-11T21:29:54Z, '
        'info extracted from detail "')


def test_recorded_json_template_missing_bare_variable_is_empty_string() -> None:
    template = '{"detailType": <detail-type>,  "time": <timestamp>, "command": <command>}'
    paths = {"detail-type": "$.detail-type", "timestamp": "$.time", "command": "$.detail.notinmessage"}
    assert json.loads(run(template, paths)) == {
        "detailType": "EC2 Instance State-change Notification", "time": "2015-11-11T21:29:54Z", "command": ""}


def test_recorded_special_starting_characters_stay_a_string_template() -> None:
    template = '"{[/Check with special starting characters for event of <detail-type> type"'
    assert run(template, {"detail-type": "$.detail-type"}) == (
        '"{[/Check with special starting characters for event of EC2 Instance State-change Notification type"')


def test_recorded_predefined_variables_in_a_string() -> None:
    template = ('"Message containing all pre defined variables <aws.events.rule-arn> <aws.events.rule-name> '
                '<aws.events.event.ingestion-time>"')
    assert run(template, {}) == f'"Message containing all pre defined variables {RULE_ARN} example {INGESTED}"'


def test_recorded_event_and_event_json() -> None:
    body = json.loads(run('{"originalEvent": <aws.events.event>, "originalEventJson": <aws.events.event.json>}', {}))
    assert list(body["originalEvent"]) == [
        "id", "account", "detailType", "time", "source", "region", "resources", "version"]
    assert body["originalEvent"]["detailType"] == EC2_EVENT["detail-type"]
    assert body["originalEventJson"] == EC2_EVENT


def test_recorded_input_path_to_a_string_keeps_its_quotes() -> None:
    target = target_input_from_dict({"Id": "t", "InputPath": "$.detail.state"})
    assert render(target, EC2_EVENT, rule_name="r", rule_arn="a", ingestion_time="t") == b'"RUNNING"'


def test_input_path_to_an_object() -> None:
    target = target_input_from_dict({"Id": "t", "InputPath": "$.detail"})
    assert render(target, EC2_EVENT, rule_name="r", rule_arn="a", ingestion_time="t") == (
        b'{"instance-id":"i-0123456789","state":"RUNNING"}')


def test_no_input_sends_the_whole_event_compact() -> None:
    body = render(target_input_from_dict({"Id": "t"}), EC2_EVENT, rule_name="r", rule_arn="a", ingestion_time="t")
    assert json.loads(body) == EC2_EVENT
    assert b" " not in body.replace(b"EC2 Instance State-change Notification", b"")


def test_constant_input_is_sent_unchanged() -> None:
    text = '{ "fixed" : [1, 2] }'
    body = render(target_input_from_dict({"Id": "t", "Input": text}), EC2_EVENT,
                  rule_name="r", rule_arn="a", ingestion_time="t")
    assert body == text.encode()


# Recorded from EventBridge: objects and arrays in text templates, and inside quotes in JSON ones.

SHAPES_EVENT: dict[str, Any] = dict(EC2_EVENT, detail={
    "obj": {"a": "x-1", "b": "y"}, "severity": ["HIGH"], "codes": ["A", "B"],
    "mixed": [{"a": 1}, ["b c"], True, None, 2.5, "d,e"], "empty": {}, "none": [],
})
SHAPES = {name: f"$.detail.{name}" for name in SHAPES_EVENT["detail"]}


@pytest.mark.parametrize(("template", "expected"), [
    pytest.param("Object: <obj>", "Object: {a:x-1,b:y}", id="object in text"),
    pytest.param('"severity <severity>"', '"severity [HIGH]"', id="one-item array in a quoted text template"),
    pytest.param("<codes>", "[A,B]", id="array alone"),
    # Our reading of nested values (not recorded): the unquoted form all the way down.
    pytest.param("<mixed>", "[{a:1},[b c],true,null,2.5,d,e]", id="nested, our reading"),
    pytest.param("<empty> <none>", "{} []", id="empty object and array"),
])
def test_recorded_objects_and_arrays_in_text_templates_are_unquoted(template: str, expected: str) -> None:
    assert run(template, SHAPES, SHAPES_EVENT) == expected


@pytest.mark.parametrize("template", [
    pytest.param('{"p": "<obj>"}', id="object alone inside quotes"),
    pytest.param('{"p": "users/<obj>"}', id="object inside a longer string"),
    pytest.param('{"p": "<codes>"}', id="array inside quotes"),
    pytest.param('["<severity>"]', id="inside quotes in an array template"),
])
def test_recorded_object_inside_quotes_in_json_is_not_delivered(template: str) -> None:
    # EventBridge accepts the rule and the event and delivers nothing; eventpipes raises a
    # non-retryable error so the delivery code dead-letters the event with this reason.
    with pytest.raises(ObjectInsideQuotes) as caught:
        run(template, SHAPES, SHAPES_EVENT)
    assert caught.value.retryable is False
    assert "inside quotes in a JSON InputTemplate" in caught.value.message


def test_objects_outside_quotes_in_json_are_still_json() -> None:
    assert run('{"p": <obj>, "c": <codes>}', SHAPES, SHAPES_EVENT) == '{"p":{"a":"x-1","b":"y"},"c":["A","B"]}'
