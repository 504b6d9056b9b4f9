"""Event buses on the pure rules: AWS's fields, codes and messages."""

from __future__ import annotations

from typing import Any

import pytest

from eventpipes.control.errors import ControlPlaneError


def fails(plane: Any, operation: str, request: dict[str, Any], code: str, message: str) -> None:
    with pytest.raises(ControlPlaneError) as caught:
        plane.invoke(operation, request)
    assert (caught.value.code, caught.value.message) == (code, message)


def test_create_describe_update_list_delete(plane: Any) -> None:
    created = plane.invoke("CreateEventBus", {"Name": "orders", "Description": "the orders"})
    assert created == {"EventBusArn": "arn:aws:events:us-east-1:123456789012:event-bus/orders", "Description": "the orders"}
    described = plane.invoke("DescribeEventBus", {"Name": "orders"})
    assert described["Name"] == "orders" and described["Arn"] == created["EventBusArn"]
    assert described["CreationTime"] == described["LastModifiedTime"] == 1_700_000_001.0
    by_arn = plane.invoke("DescribeEventBus", {"Name": created["EventBusArn"]})
    assert by_arn == described
    updated = plane.invoke("UpdateEventBus", {"Name": "orders", "Description": "changed"})
    assert updated == {"Arn": created["EventBusArn"], "Name": "orders", "Description": "changed"}
    after = plane.invoke("DescribeEventBus", {"Name": "orders"})
    assert after["LastModifiedTime"] > after["CreationTime"] and after["Description"] == "changed"
    assert [b["Name"] for b in plane.invoke("ListEventBuses", {})["EventBuses"]] == ["default", "orders"]
    assert plane.invoke("DeleteEventBus", {"Name": "orders"}) == {}
    fails(plane, "DescribeEventBus", {"Name": "orders"}, "ResourceNotFoundException", "Event bus orders does not exist.")


def test_default_always_exists_and_cannot_be_deleted(plane: Any) -> None:
    assert plane.invoke("DescribeEventBus", {})["Arn"] == "arn:aws:events:us-east-1:123456789012:event-bus/default"
    fails(plane, "DeleteEventBus", {"Name": "default"}, "ValidationException", "Cannot delete event bus default.")
    fails(plane, "CreateEventBus", {"Name": "default"}, "ResourceAlreadyExistsException", "Event bus default already exists.")


def test_second_create_of_a_name_fails_and_deleting_a_missing_bus_succeeds(plane: Any) -> None:
    plane.invoke("CreateEventBus", {"Name": "b1"})
    fails(plane, "CreateEventBus", {"Name": "b1"}, "ResourceAlreadyExistsException", "Event bus b1 already exists.")
    assert plane.invoke("DeleteEventBus", {"Name": "never-made"}) == {}
    fails(plane, "UpdateEventBus", {"Name": "never-made"}, "ResourceNotFoundException", "Event bus never-made does not exist.")


def test_name_rules(plane: Any) -> None:
    fails(plane, "CreateEventBus", {"Name": "a b"}, "ValidationException",
          "1 validation error detected: Value 'a b' at 'name' failed to satisfy constraint: "
          "Member must satisfy regular expression pattern: [/\\.\\-_A-Za-z0-9]+")
    fails(plane, "CreateEventBus", {}, "ValidationException",
          "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null")
    fails(plane, "CreateEventBus", {"Name": "x" * 257, "Description": "d" * 513}, "ValidationException",
          f"2 validation errors detected: Value '{'x' * 257}' at 'name' failed to satisfy constraint: Member must have "
          f"length less than or equal to 256; Value '{'d' * 513}' at 'description' failed to satisfy constraint: "
          "Member must have length less than or equal to 512")
    with pytest.raises(ControlPlaneError) as caught:
        plane.invoke("CreateEventBus", {"Name": "partner/bus"})
    assert caught.value.code == "ValidationException" and "no '/'" in caught.value.message
    with pytest.raises(ControlPlaneError) as caught:
        plane.invoke("CreateEventBus", {"Name": "x" * 235})
    assert caught.value.code == "ValidationException" and "234" in caught.value.message
    fails(plane, "CreateEventBus", {"Name": "k", "KmsKeyIdentifier": "alias/k"}, "ValidationException",
          "KmsKeyIdentifier is not supported by eventpipes.")


def test_list_pages_with_prefix_limit_and_token(plane: Any) -> None:
    for name in ("a1", "a2", "a3", "b1"):
        plane.invoke("CreateEventBus", {"Name": name})
    first = plane.invoke("ListEventBuses", {"NamePrefix": "a", "Limit": 2})
    assert [b["Name"] for b in first["EventBuses"]] == ["a1", "a2"]
    second = plane.invoke("ListEventBuses", {"NamePrefix": "a", "Limit": 2, "NextToken": first["NextToken"]})
    assert [b["Name"] for b in second["EventBuses"]] == ["a3"] and "NextToken" not in second
    fails(plane, "ListEventBuses", {"Limit": 0}, "ValidationException",
          "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1")
    fails(plane, "ListEventBuses", {"NextToken": "garbage!"}, "ValidationException", "The NextToken is not valid.")


def test_unknown_operation(plane: Any) -> None:
    fails(plane, "MakeCoffee", {}, "UnknownOperationException", "Operation MakeCoffee is not supported.")
