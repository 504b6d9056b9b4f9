"""Every rule-target kind's ARN reads back as the kind and destination it was built from."""

from __future__ import annotations

import pytest

from eventpipes.targets.kinds import KINDS, parse_arn

EXAMPLES = {"Topic": "orders.audit", "EventBus": "orders", "ApiDestination": "hook", "Function": "shop.handlers:on_order",
            "File": "/tmp/out.jsonl"}


@pytest.mark.parametrize("kind", [k for k in KINDS if k.yaml_key], ids=lambda k: k.name)
def test_arn_round_trip(kind) -> None:  # type: ignore[no-untyped-def]
    destination = EXAMPLES[kind.name]
    assert parse_arn(kind.arn("us-east-1", "123456789012", destination)) == (kind, destination)


@pytest.mark.parametrize("arn", [
    "arn:aws:states:us-east-1:123456789012:stateMachine:m",
    "arn:aws:lambda:us-east-1:123456789012:function:no_dots",
    "arn:aws:sqs:us-east-1:123456789012:" + "q" * 250,  # longer than a topic name can be
    "kafka:topic/",
])
def test_arns_no_kind_takes(arn: str) -> None:
    assert parse_arn(arn) is None


def test_lambda_qualifier_and_kinesis_stream() -> None:
    assert parse_arn("arn:aws:lambda:eu-west-1:123456789012:function:a.b.c:live")[1] == "a.b:c"  # type: ignore[index]
    assert parse_arn("arn:aws:kinesis:eu-west-1:123456789012:stream/clicks")[1] == "clicks"  # type: ignore[index]
