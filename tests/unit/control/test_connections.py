"""Connections and API destinations on the pure rules: fields, states, errors, and sealed secrets."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from eventpipes.control.errors import ControlPlaneError
from eventpipes.control.snapshot import PLACEHOLDER, to_topology
from eventpipes.topology.checks import check

KEY, OTHER_KEY = os.urandom(32), os.urandom(32)
CONNECTION_ARN = "arn:aws:events:us-east-1:123456789012:connection/hooks"
API_KEY = {"AuthorizationType": "API_KEY",
           "AuthParameters": {"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "s3cret-value"},
                              "InvocationHttpParameters": {"HeaderParameters": [
                                  {"Key": "x-tenant", "Value": "acme", "IsValueSecret": False},
                                  {"Key": "x-token", "Value": "hidden-token", "IsValueSecret": True}]}}}


def fails(plane: Any, operation: str, request: dict[str, Any], code: str, message: str) -> None:
    with pytest.raises(ControlPlaneError) as caught:
        plane.invoke(operation, request)
    assert (caught.value.code, caught.value.message) == (code, message)


@pytest.fixture
def keyed() -> Any:
    from control_support import Local

    return Local(key=KEY)


def test_connection_round_trip_never_shows_or_stores_a_secret(keyed: Any) -> None:
    created = keyed.invoke("CreateConnection", {"Name": "hooks", **API_KEY, "Description": "d"})
    assert created["ConnectionArn"] == CONNECTION_ARN and created["ConnectionState"] == "AUTHORIZED"
    described = keyed.invoke("DescribeConnection", {"Name": "hooks"})
    assert described["AuthParameters"] == {
        "ApiKeyAuthParameters": {"ApiKeyName": "x-api-key"},
        "InvocationHttpParameters": {"HeaderParameters": [{"Key": "x-tenant", "Value": "acme", "IsValueSecret": False},
                                                          {"Key": "x-token", "IsValueSecret": True}]}}
    assert described["Description"] == "d" and described["AuthorizationType"] == "API_KEY"
    stored = json.dumps(keyed.state.connections)
    assert "s3cret-value" not in stored and "hidden-token" not in stored
    (connection,) = to_topology(keyed.state, keyed.context).connections
    assert connection.unusable is None and connection.auth_parameters.api_key.api_key_value == "s3cret-value"
    assert connection.auth_parameters.invocation_http_parameters.header_parameters[1].value == "hidden-token"
    assert [c["Name"] for c in keyed.invoke("ListConnections", {})["Connections"]] == ["hooks"]
    fails(keyed, "CreateConnection", {"Name": "hooks", **API_KEY}, "ResourceAlreadyExistsException", "Connection hooks already exists.")


def test_without_the_key_secrets_cannot_be_written_and_snapshots_mark_the_connection_unusable(keyed: Any) -> None:
    from control_support import Local

    keyless = Local()
    with pytest.raises(ControlPlaneError) as caught:
        keyless.invoke("CreateConnection", {"Name": "hooks", **API_KEY})
    assert caught.value.code == "ValidationException" and "EVENTPIPES_CONTROL_KEY" in caught.value.message
    keyed.invoke("CreateConnection", {"Name": "hooks", **API_KEY})
    for key, why in ((None, "no EVENTPIPES_CONTROL_KEY"), (OTHER_KEY, "not the key")):
        worker = Local(key=key)
        worker.state = keyed.state  # another reader of the same log
        (connection,) = to_topology(worker.state, worker.context).connections
        assert connection.unusable is not None and why in connection.unusable
        assert connection.auth_parameters.api_key.api_key_value == PLACEHOLDER


def test_update_connection_merges_and_keeps_secrets_sealed(keyed: Any) -> None:
    keyed.invoke("CreateConnection", {"Name": "hooks", "AuthorizationType": "BASIC",
                                      "AuthParameters": {"BasicAuthParameters": {"Username": "u", "Password": "p1"}}})
    keyed.invoke("UpdateConnection", {"Name": "hooks", "AuthParameters": {"BasicAuthParameters": {"Password": "p2"}}})
    (connection,) = to_topology(keyed.state, keyed.context).connections
    assert (connection.auth_parameters.basic.username, connection.auth_parameters.basic.password) == ("u", "p2")
    fails(keyed, "UpdateConnection", {"Name": "hooks", "AuthorizationType": "API_KEY"}, "ValidationException",
          "AuthorizationType API_KEY needs AuthParameters.ApiKeyAuthParameters.")
    fails(keyed, "UpdateConnection", {"Name": "nope"}, "ResourceNotFoundException",
          "Failed to describe the connection(s). Connection 'nope' does not exist.")


def test_connection_checks(keyed: Any) -> None:
    fails(keyed, "CreateConnection", {"Name": "c", "AuthorizationType": "TOKEN", "AuthParameters": {}}, "ValidationException",
          "1 validation error detected: Value 'TOKEN' at 'authorizationType' failed to satisfy constraint: Member must "
          "satisfy enum value set: [BASIC, OAUTH_CLIENT_CREDENTIALS, API_KEY]")
    with pytest.raises(ControlPlaneError) as caught:
        keyed.invoke("CreateConnection", {"Name": "c", "AuthorizationType": "BASIC", "AuthParameters": {}})
    assert caught.value.code == "ValidationException" and "BasicAuthParameters" in caught.value.message
    fails(keyed, "DescribeConnection", {"Name": "nope"}, "ResourceNotFoundException",
          "Failed to describe the connection(s). Connection 'nope' does not exist.")


def test_api_destination_round_trip_and_what_blocks_deletes(keyed: Any) -> None:
    keyed.invoke("CreateConnection", {"Name": "hooks", **API_KEY})
    request = {"Name": "hook", "ConnectionArn": CONNECTION_ARN + "/0a1b2c", "InvocationEndpoint": "https://example.com/*",
               "HttpMethod": "POST"}
    created = keyed.invoke("CreateApiDestination", request)
    assert created["ApiDestinationArn"] == "arn:aws:events:us-east-1:123456789012:api-destination/hook"
    assert created["ApiDestinationState"] == "ACTIVE"
    described = keyed.invoke("DescribeApiDestination", {"Name": "hook"})
    assert (described["ConnectionArn"], described["InvocationRateLimitPerSecond"]) == (CONNECTION_ARN, 300)
    keyed.invoke("UpdateApiDestination", {"Name": "hook", "InvocationRateLimitPerSecond": 5})
    assert keyed.invoke("ListApiDestinations", {"ConnectionArn": CONNECTION_ARN})["ApiDestinations"][0]["InvocationRateLimitPerSecond"] == 5
    fails(keyed, "CreateApiDestination", request, "ResourceAlreadyExistsException", "An api-destination 'hook' already exists.")
    fails(keyed, "CreateApiDestination", {**request, "Name": "h2", "ConnectionArn": CONNECTION_ARN + "x"}, "ResourceNotFoundException",
          "Failed to describe the connection(s). Connection 'hooksx' does not exist.")
    fails(keyed, "DeleteConnection", {"Name": "hooks"}, "ValidationException",
          "Connection hooks is used by API destination hook; delete that first.")
    keyed.invoke("PutRule", {"Name": "r", "EventPattern": '{"source": ["a"]}'})
    keyed.invoke("PutTargets", {"Rule": "r", "Targets": [{"Id": "t", "Arn": created["ApiDestinationArn"]}]})
    topology = to_topology(keyed.state, keyed.context)
    assert check(topology) == []
    assert topology.api_destination("hook").invocation_rate_limit_per_second == 5
    assert topology.rules[0].targets[0].destination == "hook"
    fails(keyed, "DeleteApiDestination", {"Name": "hook"}, "ValidationException",
          "Api destination hook is used by target t of rule r on bus default; remove that target first.")
    keyed.invoke("RemoveTargets", {"Rule": "r", "Ids": ["t"]})
    assert keyed.invoke("DeleteApiDestination", {"Name": "hook"}) == {}
    assert keyed.invoke("DeleteConnection", {"Name": "hooks"})["ConnectionState"] == "DELETING"
    fails(keyed, "DescribeApiDestination", {"Name": "hook"}, "ResourceNotFoundException",
          "Failed to describe the api-destination(s). An api-destination 'hook' does not exist.")
