"""Retry policy ranges and defaults, backoff bounds, decisions at the limits, dead-letter headers."""

from __future__ import annotations

import random
from typing import Any

import pytest

from eventpipes.errors import EventPipesError
from eventpipes.retry import (
    INFINITE,
    Backoff,
    DeadLetterConfig,
    DeadLetterInfo,
    Decision,
    ExhaustedRetryCondition,
    InvalidRetryPolicy,
    RetryPolicy,
    dead_letter_headers,
    dead_letter_record,
    is_retryable,
)


def seeded(seed: int = 7) -> Backoff:
    return Backoff(random=random.Random(seed).random)


def fixed(fraction: float) -> Backoff:
    return Backoff(random=lambda: fraction)


# Ranges and defaults

def test_target_defaults_are_eventbridge_defaults() -> None:
    policy = RetryPolicy.for_target()
    assert (policy.maximum_retry_attempts, policy.maximum_event_age_in_seconds) == (185, 86400)
    assert RetryPolicy.from_dict({}) == policy
    assert policy.to_dict() == {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}


def test_pipe_defaults_are_infinite() -> None:
    policy = RetryPolicy.for_pipe()
    assert (policy.maximum_retry_attempts, policy.maximum_event_age_in_seconds) == (INFINITE, INFINITE)
    assert RetryPolicy.from_dict({}, flavour="pipe") == policy
    assert policy.to_dict() == {"MaximumRetryAttempts": -1, "MaximumRecordAgeInSeconds": -1}


@pytest.mark.parametrize(("attempts", "age"), [(0, 60), (185, 86400), (0, 86400), (185, 60)])
def test_target_range_edges_are_accepted(attempts: int, age: int) -> None:
    RetryPolicy.for_target(maximum_retry_attempts=attempts, maximum_event_age_in_seconds=age)


@pytest.mark.parametrize(("kwargs", "path", "bound"), [
    ({"maximum_retry_attempts": -1}, "RetryPolicy.MaximumRetryAttempts", "greater than or equal to 0"),
    ({"maximum_retry_attempts": 186}, "RetryPolicy.MaximumRetryAttempts", "less than or equal to 185"),
    ({"maximum_event_age_in_seconds": 59}, "RetryPolicy.MaximumEventAgeInSeconds", "greater than or equal to 60"),
    ({"maximum_event_age_in_seconds": 86401}, "RetryPolicy.MaximumEventAgeInSeconds", "less than or equal to 86400"),
])
def test_target_out_of_range_names_the_parameter(kwargs: dict[str, Any], path: str, bound: str) -> None:
    with pytest.raises(InvalidRetryPolicy) as caught:
        RetryPolicy.for_target(**kwargs)
    assert caught.value.path == path
    assert caught.value.code == "ValidationException"
    assert bound in caught.value.reason
    assert str(caught.value).endswith(f"(at {path})")


@pytest.mark.parametrize(("attempts", "age"), [(-1, -1), (10000, 604800), (0, 0)])
def test_pipe_range_edges_are_accepted(attempts: int, age: int) -> None:
    RetryPolicy.for_pipe(maximum_retry_attempts=attempts, maximum_record_age_in_seconds=age)


@pytest.mark.parametrize(("kwargs", "path"), [
    ({"maximum_retry_attempts": -2}, "MaximumRetryAttempts"),
    ({"maximum_retry_attempts": 10001}, "MaximumRetryAttempts"),
    ({"maximum_record_age_in_seconds": -2}, "MaximumRecordAgeInSeconds"),
    ({"maximum_record_age_in_seconds": 604801}, "MaximumRecordAgeInSeconds"),
])
def test_pipe_out_of_range_names_the_parameter(kwargs: dict[str, Any], path: str) -> None:
    with pytest.raises(InvalidRetryPolicy) as caught:
        RetryPolicy.for_pipe(**kwargs)
    assert caught.value.path == path


@pytest.mark.parametrize(("body", "path"), [
    ({"MaximumRetryAttempts": "3"}, "RetryPolicy.MaximumRetryAttempts"),
    ({"MaximumRetryAttempts": True}, "RetryPolicy.MaximumRetryAttempts"),
    ({"MaximumRecordAgeInSeconds": 60}, "RetryPolicy.MaximumRecordAgeInSeconds"),
    ([], "RetryPolicy"),
])
def test_from_dict_refuses_bad_shapes(body: Any, path: str) -> None:
    with pytest.raises(InvalidRetryPolicy) as caught:
        RetryPolicy.from_dict(body)
    assert caught.value.path == path


def test_from_dict_reads_eventbridge_keys() -> None:
    policy = RetryPolicy.from_dict({"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 600})
    assert policy == RetryPolicy.for_target(maximum_retry_attempts=3, maximum_event_age_in_seconds=600)


def test_policy_is_frozen() -> None:
    policy = RetryPolicy.for_target()
    with pytest.raises(AttributeError):
        policy.maximum_retry_attempts = 3  # type: ignore[misc]


# Backoff

def test_ceiling_doubles_from_base_to_cap() -> None:
    backoff = Backoff(base_seconds=1, cap_seconds=900)
    assert [backoff.ceiling(n) for n in range(1, 12)] == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900]
    assert backoff.ceiling(10_000) == 900


def test_delays_stay_within_zero_and_the_ceiling() -> None:
    backoff = seeded()
    for attempt in range(1, 200):
        delay = backoff.next_delay(attempt)
        assert 0 <= delay < backoff.ceiling(attempt)


def test_delays_grow_on_average_until_the_cap() -> None:
    backoff = seeded(42)
    means = [sum(backoff.next_delay(n) for _ in range(400)) / 400 for n in (1, 4, 8, 20)]
    assert means[0] < means[1] < means[2] < means[3]
    assert means[3] == pytest.approx(450, rel=0.1)


def test_seeded_backoff_is_deterministic() -> None:
    assert [seeded(3).next_delay(5) for _ in range(2)] == [seeded(3).next_delay(5)] * 2
    assert fixed(0.5).next_delay(3) == 2.0


def test_backoff_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        Backoff(base_seconds=0)
    with pytest.raises(ValueError):
        Backoff(base_seconds=10, cap_seconds=1)
    with pytest.raises(ValueError):
        Backoff().next_delay(0)


# Decisions

def policy(attempts: int = 3, age: int = 600, backoff: Backoff | None = None) -> RetryPolicy:
    return RetryPolicy.for_target(maximum_retry_attempts=attempts, maximum_event_age_in_seconds=age,
                                  backoff=backoff or fixed(0.5))


def test_first_failure_retries_after_the_backoff_delay() -> None:
    assert policy().decide(attempts_made=1, event_age_seconds=0, retryable=True) == Decision(True, 0.5, 0)
    assert policy().decide(attempts_made=3, event_age_seconds=0, retryable=True) == Decision(True, 2.0, 2)


def test_gives_up_when_every_retry_was_made() -> None:
    decision = policy(attempts=3).decide(attempts_made=4, event_age_seconds=0, retryable=True)
    assert decision == Decision(False, 0.0, 3, ExhaustedRetryCondition.MAXIMUM_RETRY_ATTEMPTS)


def test_zero_retries_gives_up_after_the_first_attempt() -> None:
    decision = policy(attempts=0).decide(attempts_made=1, event_age_seconds=0, retryable=True)
    assert decision.exhausted_condition == ExhaustedRetryCondition.MAXIMUM_RETRY_ATTEMPTS
    assert decision.retry_attempts == 0


def test_gives_up_when_the_event_is_too_old() -> None:
    decision = policy(age=60).decide(attempts_made=1, event_age_seconds=60, retryable=True)
    assert decision == Decision(False, 0.0, 0, ExhaustedRetryCondition.MAXIMUM_EVENT_AGE)


def test_gives_up_when_the_delay_would_reach_the_age_limit() -> None:
    # 0.5 s delay: retry at 59.4 s of age is fine, one at 59.5 s would land on the limit.
    assert policy(age=60).decide(attempts_made=1, event_age_seconds=59.4, retryable=True).retry
    late = policy(age=60).decide(attempts_made=1, event_age_seconds=59.5, retryable=True)
    assert late.exhausted_condition == ExhaustedRetryCondition.MAXIMUM_EVENT_AGE


def test_attempts_limit_is_checked_before_age() -> None:
    decision = policy(attempts=1, age=60).decide(attempts_made=2, event_age_seconds=100, retryable=True)
    assert decision.exhausted_condition == ExhaustedRetryCondition.MAXIMUM_RETRY_ATTEMPTS


def test_non_retryable_error_goes_straight_to_the_dead_letter_topic() -> None:
    decision = policy().decide(attempts_made=1, event_age_seconds=0, retryable=False)
    assert decision == Decision(False, 0.0, 0, None)


def test_infinite_pipe_policy_keeps_retrying() -> None:
    pipe = RetryPolicy.for_pipe(backoff=fixed(0.99))
    decision = pipe.decide(attempts_made=1_000_000, event_age_seconds=10**9, retryable=True)
    assert decision.retry and decision.delay_seconds == pytest.approx(0.99 * 900)


def test_pipe_zero_age_gives_up_at_once() -> None:
    pipe = RetryPolicy.for_pipe(maximum_record_age_in_seconds=0)
    assert pipe.decide(attempts_made=1, event_age_seconds=0, retryable=True).exhausted_condition == (
        ExhaustedRetryCondition.MAXIMUM_EVENT_AGE)


def test_attempts_made_counts_the_failed_attempt() -> None:
    with pytest.raises(ValueError):
        policy().decide(attempts_made=0, event_age_seconds=0, retryable=True)


def test_is_retryable_reads_the_error() -> None:
    class Transient(EventPipesError):
        retryable = True

    assert is_retryable(Transient("x"))
    assert not is_retryable(EventPipesError("x"))
    assert is_retryable(TimeoutError())


# Dead letters

def test_dead_letter_config_uses_eventbridge_key_with_a_topic_name() -> None:
    config = DeadLetterConfig.from_dict({"Arn": "orders-dlq"})
    assert config.topic == "orders-dlq"
    assert config.to_dict() == {"Arn": "orders-dlq"}


@pytest.mark.parametrize("body", [{"Topic": "x"}, {"Arn": "has space"}, {"Arn": ""}, {"Arn": ".."},
                                  {"Arn": "x" * 250}, "orders-dlq"])
def test_dead_letter_config_refuses_what_is_not_a_topic(body: Any) -> None:
    with pytest.raises(InvalidRetryPolicy) as caught:
        DeadLetterConfig.from_dict(body)
    assert caught.value.path.startswith("DeadLetterConfig")


def test_headers_have_eventbridge_names_in_order() -> None:
    decision = policy(attempts=2).decide(attempts_made=3, event_age_seconds=0, retryable=True)
    info = DeadLetterInfo.from_decision(decision, error_code="TIMEOUT", error_message="target timed out",
                                        rule_arn="arn:rule", target_arn="arn:target")
    assert dead_letter_headers(info) == [
        ("RULE_ARN", b"arn:rule"), ("TARGET_ARN", b"arn:target"), ("ERROR_CODE", b"TIMEOUT"),
        ("ERROR_MESSAGE", b"target timed out"), ("EXHAUSTED_RETRY_CONDITION", b"MaximumRetryAttempts"),
        ("RETRY_ATTEMPTS", b"2"),
    ]


def test_non_retryable_headers_have_no_exhausted_condition() -> None:
    info = DeadLetterInfo("NO_RESOURCE", "gone ü", None, 0, "r", "t")
    headers = dict(dead_letter_headers(info))
    assert "EXHAUSTED_RETRY_CONDITION" not in headers
    assert headers["ERROR_MESSAGE"] == "gone ü".encode()
    assert headers["RETRY_ATTEMPTS"] == b"0"


def test_dead_letter_record_keeps_the_event_unchanged() -> None:
    event = b'{"id":"1","detail":{"a":"\\u00fc"}}'
    info = DeadLetterInfo("ERROR_FROM_TARGET", "500", "MaximumEventAgeInSeconds", 7, "r", "t")
    record = dead_letter_record(DeadLetterConfig("dlq"), event, info, key=b"k")
    assert (record.topic, record.value, record.key) == ("dlq", event, b"k")
    assert record.headers == dead_letter_headers(info)
