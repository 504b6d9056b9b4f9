"""Pipe definitions: EventBridge's ranges and defaults, problems located in the YAML."""

from __future__ import annotations

import pytest

from eventpipes.retry import INFINITE
from eventpipes.topology import TopologyError, load_text

BASE = """
Pipes:
  - Name: p
    Source: src
    Target: topic:out
"""


def test_defaults_are_eventbridges() -> None:
    pipe = load_text(BASE).pipes[0]
    stream = pipe.stream
    assert (stream.batch_size, stream.maximum_batching_window_in_seconds, stream.parallelization_factor) == (100, 0, 1)
    assert stream.maximum_retry_attempts == INFINITE and stream.maximum_record_age_in_seconds == INFINITE
    assert stream.on_partial_batch_item_failure is None and stream.dead_letter_config is None
    assert pipe.desired_state == "RUNNING"
    assert pipe.consumer_group == "eventpipes.pipe.p"
    assert pipe.source_kind == "kafka"


@pytest.mark.parametrize(("key", "value", "ok"), [
    ("BatchSize", 1, True), ("BatchSize", 10000, True), ("BatchSize", 0, False), ("BatchSize", 10001, False),
    ("MaximumBatchingWindowInSeconds", 300, True), ("MaximumBatchingWindowInSeconds", 301, False),
    ("ParallelizationFactor", 10, True), ("ParallelizationFactor", 11, False), ("ParallelizationFactor", 0, False),
    ("MaximumRecordAgeInSeconds", -1, True), ("MaximumRecordAgeInSeconds", 604800, True),
    ("MaximumRecordAgeInSeconds", 604801, False), ("MaximumRecordAgeInSeconds", 30, False),
    ("MaximumRetryAttempts", -1, True), ("MaximumRetryAttempts", 10000, True), ("MaximumRetryAttempts", 10001, False),
    ("MaximumRetryAttempts", -2, False), ("OnPartialBatchItemFailure", "AUTOMATIC_BISECT", True),
    ("OnPartialBatchItemFailure", "SPLIT", False), ("StartingPosition", "LATEST", True), ("StartingPosition", "NOW", False),
])
def test_ranges(key: str, value: object, ok: bool) -> None:
    text = BASE + f"    SourceParameters:\n      DynamoDBStreamParameters:\n        {key}: {value}\n"
    if ok:
        load_text(text)
        return
    with pytest.raises(TopologyError) as caught:
        load_text(text)
    problem = caught.value.problems[0]
    assert problem.path.startswith(f"Pipes[0].SourceParameters.DynamoDBStreamParameters")
    assert problem.line in (7, 8)  # the key, or its mapping for a cross-field rule


def test_at_timestamp_needs_its_timestamp() -> None:
    text = BASE + "    SourceParameters:\n      SelfManagedKafkaParameters: {StartingPosition: AT_TIMESTAMP}\n"
    with pytest.raises(TopologyError, match="StartingPositionTimestamp"):
        load_text(text)


def test_dead_letter_config_is_a_topic_and_unknown_keys_are_refused() -> None:
    text = BASE + "    SourceParameters:\n      SelfManagedKafkaParameters: {DeadLetterConfig: {Arn: 'no such/topic'}}\n"
    with pytest.raises(TopologyError, match="Kafka topic name"):
        load_text(text)
    with pytest.raises(TopologyError, match="unknown key"):
        load_text(BASE + "    BatchSize: 10\n")


@pytest.mark.parametrize(("target", "ok"), [
    ("topic:out", True), ("bus:orders", True), ("function:mod.sub:fn", True), ("https://x/y", True),
    ("queue:x", False), ("function:bad", False),
])
def test_target_forms(target: str, ok: bool) -> None:
    text = BASE.replace("topic:out", target)
    if ok:
        assert load_text(text).pipes[0].target == target
    else:
        with pytest.raises(TopologyError, match="Target must be"):
            load_text(text)


def test_checks_name_the_path() -> None:
    text = """
Pipes:
  - Name: p
    Source: src
    SourceParameters:
      FilterCriteria:
        Filters: [{Pattern: '{"value": {"a": [{"prefix": 1}]}}'}]
    Target: topic:src
    TargetParameters: {InputTemplate: '{"a": <nope>}'}
  - {Name: p, Source: s, Target: "topic:o"}
"""
    with pytest.raises(TopologyError) as caught:
        load_text(text)
    paths = sorted(p.path for p in caught.value.problems)
    assert paths == ["Pipes[0].Name", "Pipes[0].SourceParameters.FilterCriteria.Filters[0].Pattern", "Pipes[0].Target",
                     "Pipes[0].TargetParameters.InputTemplate", "Pipes[1].Name"]


def test_six_filters_are_too_many() -> None:
    filters = ", ".join("{Pattern: '{\"value\": [1]}'}" for _ in range(6))
    with pytest.raises(TopologyError, match="at most 5"):
        load_text(BASE + f"    SourceParameters: {{FilterCriteria: {{Filters: [{filters}]}}}}\n")


def test_example_pipes_validate() -> None:
    from pathlib import Path

    from eventpipes.topology import load_file

    files = sorted((Path(__file__).parents[3] / "pipes").glob("*.yaml"))
    assert files
    for file in files:
        assert load_file(file).pipes
