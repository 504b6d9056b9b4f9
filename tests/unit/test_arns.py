"""ARNs as EventBridge writes them, and read back from the forms users pass."""

from __future__ import annotations

import pytest

from eventpipes.arns import (
    DEFAULT_BUS, api_destination_arn, bus_arn, bus_of_arn, pipe_arn, rule_arn, rule_of_arn,
)


def test_a_rule_on_the_default_bus_leaves_the_bus_out() -> None:
    assert rule_arn("us-east-1", "123456789012", DEFAULT_BUS, "r1") == "arn:aws:events:us-east-1:123456789012:rule/r1"
    assert rule_arn("us-east-1", "123456789012", "orders", "r1") == "arn:aws:events:us-east-1:123456789012:rule/orders/r1"


def test_rule_arns_read_back_with_their_bus() -> None:
    assert rule_of_arn(rule_arn("eu-west-1", "123456789012", "orders", "r1")) == ("orders", "r1")
    assert rule_of_arn(rule_arn("eu-west-1", "123456789012", DEFAULT_BUS, "r1")) == (DEFAULT_BUS, "r1")
    assert rule_of_arn("r1") is None


@pytest.mark.parametrize("value", [
    "orders", "arn:aws:events:us-east-1:12345:event-bus/orders", "arn:aws:sqs:us-east-1:123456789012:orders",
    "arn:aws:events::123456789012:event-bus/orders",
])
def test_only_a_well_formed_event_bus_arn_names_a_bus(value: str) -> None:
    assert bus_of_arn(value) is None


def test_event_bus_arns_in_other_partitions() -> None:
    assert bus_of_arn(bus_arn("us-east-1", "123456789012", "orders")) == "orders"
    assert bus_of_arn("arn:aws-cn:events:cn-north-1:123456789012:event-bus/orders") == "orders"


def test_other_resource_forms() -> None:
    assert pipe_arn("us-east-1", "123456789012", "p") == "arn:aws:pipes:us-east-1:123456789012:pipe/p"
    assert api_destination_arn("us-east-1", "123456789012", "d").endswith(":api-destination/d")
