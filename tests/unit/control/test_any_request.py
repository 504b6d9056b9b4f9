"""Whatever JSON arrives, every operation answers a result or a ControlPlaneError, never another exception."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventpipes.control.errors import ControlPlaneError
from eventpipes.control.operations import OPERATIONS

KEYS = ["Name", "EventBusName", "Rule", "Targets", "Id", "Arn", "EventPattern", "ScheduleExpression", "State", "Description",
        "AuthorizationType", "AuthParameters", "BasicAuthParameters", "Password", "Username", "InvocationHttpParameters",
        "HeaderParameters", "IsValueSecret", "Value", "Key", "ConnectionArn", "InvocationEndpoint", "HttpMethod", "Source",
        "Target", "SourceParameters", "SelfManagedKafkaParameters", "TopicName", "FilterCriteria", "Filters", "Pattern",
        "TargetParameters", "Enrichment", "Tags", "Ids", "Limit", "NextToken", "NamePrefix", "InputTransformer",
        "DeadLetterConfig", "RetryPolicy", "KinesisParameters", "ResourceARN", "resourceArn", "tags", "Event"]
LEAVES = st.one_of(st.none(), st.booleans(), st.integers(-5, 400), st.sampled_from(
    ["", "a", "default", "smk://h:9092", "kafka:topic/t", "arn:aws:sqs:us-east-1:123456789012:q", '{"source": ["a"]}',
     "rate(5 minutes)", "BASIC", "API_KEY", "POST", "https://x.example", "arn:aws:events:us-east-1:123456789012:connection/c"]))
VALUES = st.recursive(LEAVES, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)), max_leaves=12)
REQUESTS = st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=6)


def seeded() -> Any:
    """A state with one of everything, so that requests reach the rules that change state, not only the checks."""
    from control_support import Local

    plane = Local(key=b"k" * 32)
    plane.invoke("PutRule", {"Name": "a", "EventPattern": '{"source": ["a"]}'})
    plane.invoke("CreateConnection", {"Name": "c", "AuthorizationType": "BASIC",
                                      "AuthParameters": {"BasicAuthParameters": {"Username": "u", "Password": "p"}}})
    plane.invoke("CreatePipe", {"Name": "a", "Source": "kafka:topic/t", "Target": "kafka:topic/u"})
    return plane


PLANE = seeded()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operation=st.sampled_from(sorted(OPERATIONS)), request=REQUESTS)
def test_any_request_gets_a_typed_answer(operation: str, request: dict[str, Any]) -> None:
    try:
        PLANE.invoke(operation, request)
    except ControlPlaneError:
        pass
