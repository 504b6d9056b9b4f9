"""The endpoint at the protocol level, with boto3 as the client: no Kafka (a fake control plane).

The fake implements ``invoke`` as the control plane's contract states it (AWS shapes in and
out, ``code``/``message`` errors); these tests check only that the endpoint carries requests
and answers across both protocols exactly as botocore expects them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.exceptions
import pytest
import urllib.error
import urllib.request

from eventpipes.api import BackgroundEndpoint
from eventpipes.errors import EventPipesError
from eventpipes.settings import Settings

PATTERN = json.dumps({"source": ["shop"], "detail": {"total": [{"numeric": [">", 10]}]}})
EVENT = json.dumps({"id": "1", "account": "000000000000", "source": "shop", "time": "2026-01-01T00:00:00Z",
                    "region": "us-east-1", "detail-type": "Order", "detail": {"total": 12}})


class FakePlaneError(EventPipesError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)


class FakePlane:
    """Records each call; answers a few operations as the real plane would."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def invoke(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((operation, request))
        if request.get("Name") == "missing" and operation == "DescribeRule":
            raise FakePlaneError("ResourceNotFoundException", "Rule missing does not exist on EventBus default.")
        if request.get("Name") == "missing":
            raise FakePlaneError("NotFoundException", "Pipe missing does not exist.")
        if request.get("Name") == "taken":
            raise FakePlaneError("ResourceAlreadyExistsException", "Pipe taken already exists.")
        if operation == "ListRules":
            return {"Rules": [{"Name": "r1", "State": "ENABLED"}], "NextToken": "page2"}
        if operation == "PutTargets":
            return {"FailedEntryCount": 1, "FailedEntries": [{"TargetId": "bad id", "ErrorCode": "ValidationException",
                                                              "ErrorMessage": "bad"}]}
        if operation in ("CreatePipe", "StopPipe", "DescribePipe"):
            return {"Arn": f"arn:aws:pipes:us-east-1:000000000000:pipe/{request['Name']}", "Name": request["Name"],
                    "DesiredState": "STOPPED" if operation == "StopPipe" else "RUNNING", "CurrentState": "CREATING",
                    "CreationTime": 1767225600.5}
        if operation == "ListPipes":
            return {"Pipes": [{"Name": "p1", "CurrentState": "RUNNING"}]}
        return {}


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, FakePlane]]:
    plane = FakePlane()
    with BackgroundEndpoint(Settings(), plane=plane, keys={}) as url:
        yield url, plane


def client(url: str, service: str) -> Any:
    return boto3.client(service, endpoint_url=url, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")


def test_test_event_pattern_with_boto3(served: tuple[str, FakePlane]) -> None:
    events = client(served[0], "events")
    assert events.test_event_pattern(EventPattern=PATTERN, Event=EVENT)["Result"] is True
    assert events.test_event_pattern(EventPattern=PATTERN, Event=EVENT.replace("12", "3"))["Result"] is False
    with pytest.raises(events.exceptions.InvalidEventPatternException) as bad:
        events.test_event_pattern(EventPattern='{"source": "shop"}', Event=EVENT)
    assert "Event pattern is not valid" in str(bad.value)
    with pytest.raises(botocore.exceptions.ClientError) as invalid:
        events.test_event_pattern(EventPattern=PATTERN, Event='{"source": "shop"}')
    assert invalid.value.response["Error"]["Code"] == "ValidationException"
    assert invalid.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_operations_not_implemented_answer_unknown_operation_naming_them(served: tuple[str, FakePlane]) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as error:
        client(served[0], "events").list_event_sources()
    assert error.value.response["Error"]["Code"] == "UnknownOperationException"
    assert "ListEventSources" in error.value.response["Error"]["Message"]
    with pytest.raises(urllib.error.HTTPError) as pipes_error:
        urllib.request.urlopen(served[0] + "/v1/pipes/p/logs")
    assert pipes_error.value.code == 400 and pipes_error.value.headers["x-amzn-ErrorType"] == "UnknownOperationException"
    assert "GET /v1/pipes/p/logs" in json.loads(pipes_error.value.read())["message"]


def test_no_target_and_bad_json_answer_aws_errors(served: tuple[str, FakePlane]) -> None:
    def post(headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(served[0] + "/", data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    assert post({"Content-Type": "application/x-amz-json-1.1"}, b"{}") == (
        400, {"__type": "UnknownOperationException", "message": "Operation (no X-Amz-Target) is not supported by this endpoint (eventpipes)."})
    status, body = post({"X-Amz-Target": "AWSEvents.TestEventPattern"}, b"[1, 2")
    assert (status, body["__type"]) == (400, "SerializationException")
    status, body = post({"X-Amz-Target": "AWSEvents.TestEventPattern"}, b'{"EventPattern": 3, "Event": "{}"}')
    assert (status, body["__type"]) == (400, "SerializationException")
    status, body = post({"X-Amz-Target": "AWSEvents.TestEventPattern"}, b'{"Event": "{}"}')
    assert (status, body["__type"]) == (400, "ValidationException")
    assert "at 'eventPattern'" in body["message"]


def test_events_resource_operations_pass_through_to_the_plane(served: tuple[str, FakePlane]) -> None:
    url, plane = served
    events = client(url, "events")
    answer = events.list_rules(NamePrefix="r", EventBusName="orders", Limit=1)
    assert answer["Rules"] == [{"Name": "r1", "State": "ENABLED"}] and answer["NextToken"] == "page2"
    assert plane.calls[-1] == ("ListRules", {"NamePrefix": "r", "EventBusName": "orders", "Limit": 1})
    with pytest.raises(events.exceptions.ResourceNotFoundException) as missing:
        events.describe_rule(Name="missing")
    assert missing.value.response["Error"]["Message"] == "Rule missing does not exist on EventBus default."
    put = events.put_targets(Rule="r1", Targets=[{"Id": "bad id", "Arn": "arn:aws:sqs:us-east-1:000000000000:q"}])
    assert put["FailedEntryCount"] == 1 and put["FailedEntries"][0]["TargetId"] == "bad id"
    assert plane.calls[-1] == ("PutTargets", {"Rule": "r1", "Targets": [{"Id": "bad id", "Arn": "arn:aws:sqs:us-east-1:000000000000:q"}]})


def test_pipes_rest_json_pass_through(served: tuple[str, FakePlane]) -> None:
    url, plane = served
    pipes = client(url, "pipes")
    created = pipes.create_pipe(Name="p1", Source="smk://topic", Target="arn:aws:sqs:us-east-1:000000000000:q", RoleArn="arn:aws:iam::000000000000:role/r")
    assert created["Name"] == "p1" and created["CurrentState"] == "CREATING"
    assert created["CreationTime"].timestamp() == 1767225600.5
    assert plane.calls[-1] == ("CreatePipe", {"Name": "p1", "Source": "smk://topic", "Target": "arn:aws:sqs:us-east-1:000000000000:q",
                                              "RoleArn": "arn:aws:iam::000000000000:role/r"})
    assert pipes.stop_pipe(Name="p1")["DesiredState"] == "STOPPED"
    assert plane.calls[-1] == ("StopPipe", {"Name": "p1"})
    assert pipes.list_pipes(NamePrefix="p", Limit=5)["Pipes"][0]["Name"] == "p1"
    assert plane.calls[-1] == ("ListPipes", {"NamePrefix": "p", "Limit": 5})
    pipes.delete_pipe(Name="a.b-c_d")
    assert plane.calls[-1] == ("DeletePipe", {"Name": "a.b-c_d"})
    arn = "arn:aws:pipes:us-east-1:000000000000:pipe/p1"
    pipes.tag_resource(resourceArn=arn, tags={"team": "orders"})
    assert plane.calls[-1] == ("TagResource", {"resourceArn": arn, "tags": {"team": "orders"}})
    pipes.untag_resource(resourceArn=arn, tagKeys=["team", "a b"])
    assert plane.calls[-1] == ("UntagResource", {"resourceArn": arn, "tagKeys": ["team", "a b"]})
    pipes.list_tags_for_resource(resourceArn=arn)
    assert plane.calls[-1] == ("ListTagsForResource", {"resourceArn": arn})
    with pytest.raises(pipes.exceptions.NotFoundException) as missing:
        pipes.describe_pipe(Name="missing")
    assert missing.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(pipes.exceptions.ConflictException) as taken:  # EventBridge's name mapped to Pipes'
        pipes.create_pipe(Name="taken", Source="s", Target="t", RoleArn="arn:aws:iam::000000000000:role/r")
    assert taken.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409


def test_a_body_over_the_limit_and_a_bad_limit_get_validation_errors(served: tuple[str, FakePlane]) -> None:
    from eventpipes.api.server import MAX_BODY_BYTES

    request = urllib.request.Request(served[0] + "/", data=b"x" * (MAX_BODY_BYTES + 1), method="POST",
                                     headers={"X-Amz-Target": "AWSEvents.PutEvents"})
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request)
    assert error.value.code == 400 and json.loads(error.value.read())["__type"] == "ValidationException"
    with pytest.raises(urllib.error.HTTPError) as listed:
        urllib.request.urlopen(served[0] + "/v1/pipes?Limit=ten")
    assert listed.value.code == 400 and listed.value.headers["x-amzn-ErrorType"] == "ValidationException"


def test_kafka_unreachable_is_an_internal_error_sdks_retry() -> None:
    from botocore.config import Config

    settings = Settings(KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:1", EVENTPIPES_KAFKA_TIMEOUT=1)
    with BackgroundEndpoint(settings, keys={}) as url:
        events = boto3.client("events", endpoint_url=url, region_name="us-east-1", aws_access_key_id="x",
                              aws_secret_access_key="y", config=Config(retries={"max_attempts": 1}))
        with pytest.raises(botocore.exceptions.ClientError) as error:
            events.put_events(Entries=[{"Source": "s", "DetailType": "d", "Detail": "{}"}])
    assert error.value.response["Error"]["Code"] == "InternalException"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert "cannot reach Kafka at 127.0.0.1:1" in error.value.response["Error"]["Message"]

