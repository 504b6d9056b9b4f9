"""Details at EventBridge's nesting depth, deeper ones, and text that is not Unicode (issue 15)."""

from __future__ import annotations

import json
import sys
import threading
from datetime import datetime, timezone
from typing import Any

import pytest

from eventpipes.events import Event, InvalidArgument, InvalidEvent, MalformedDetail, prepare_entry
from eventpipes.events import jsontext

NOW = datetime(2024, 5, 1, 10, 0, 0, tzinfo=timezone.utc)


def nested(depth: int, kind: str = "object") -> str:
    """A JSON object ``depth`` containers deep (the outer object counts as 1)."""
    if kind == "object":
        return '{"a":' * depth + "1" + "}" * depth
    return '{"a":' + "[" * (depth - 1) + "1" + "]" * (depth - 1) + "}"


def prepare(detail: str, **fields: Any) -> Any:
    body = {"Source": "com.example", "DetailType": "Deep", "Detail": detail, **fields}
    return prepare_entry(body, default_bus="default", account="123456789012", region="eu-west-1",
                         max_entry_bytes=256 * 1024, now=NOW)


@pytest.mark.parametrize("kind", ["object", "array"])
def test_a_detail_nested_1100_levels_is_put_and_round_trips(kind: str) -> None:
    prepared = prepare(nested(1100, kind))
    text = prepared.event.to_json()
    assert Event.from_json(text).to_json() == text  # (comparing the dicts would recurse 1100 deep)
    assert nested(1100, kind).encode() in text


@pytest.mark.parametrize("kind", ["object", "array"])
def test_a_detail_nested_1101_levels_fails_as_malformed(kind: str) -> None:
    with pytest.raises(MalformedDetail) as caught:
        prepare(nested(1101, kind))
    assert (caught.value.code, caught.value.message) == ("MalformedDetail", "Detail is malformed.")


def test_100000_levels_fail_as_malformed_without_recursion() -> None:
    with pytest.raises(MalformedDetail):
        jsontext_limit_free = "[" * 100_000 + "]" * 100_000
        prepare('{"a":' + jsontext_limit_free + "}")


def test_brackets_inside_strings_do_not_count_as_depth() -> None:
    detail = '{"text":' + json.dumps("{[" * 2000) + ',"deep":' + nested(1099) + "}"
    assert prepare(detail).event.detail["text"] == "{[" * 2000


def test_the_recursion_limit_is_restored_after_a_deep_detail() -> None:
    before = sys.getrecursionlimit()
    prepare(nested(1100)).event.to_json()
    assert sys.getrecursionlimit() == before


def test_deep_details_parse_in_many_threads_at_once() -> None:
    results: list[int] = []

    def put() -> None:
        for _ in range(20):
            results.append(len(prepare(nested(1100)).event.to_json()))

    threads = [threading.Thread(target=put) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 80 and len(set(results)) == 1


@pytest.mark.parametrize("detail", [
    pytest.param('{"a": "\\ud800"}', id="escaped lone high surrogate"),
    pytest.param('{"a": "x\\udfff"}', id="escaped lone low surrogate"),
    pytest.param('{"\\ud800": 1}', id="escaped lone surrogate in a key"),
    pytest.param('{"a": "\ud800"}', id="raw lone surrogate"),
])
def test_a_lone_surrogate_in_the_detail_is_malformed(detail: str) -> None:
    with pytest.raises(MalformedDetail):
        prepare(detail)


def test_a_surrogate_pair_and_an_escaped_backslash_are_fine() -> None:
    assert prepare('{"a": "\\ud83d\\ude00"}').event.detail == {"a": "\U0001F600"}
    assert prepare('{"a": "\\\\ud800"}').event.detail == {"a": "\\ud800"}


@pytest.mark.parametrize("field", ["Source", "DetailType", "TraceHeader"])
def test_a_lone_surrogate_in_another_field_is_an_invalid_argument(field: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        prepare("{}", **{field: "x\udcff"})
    assert caught.value.field == field and "lone surrogate" in caught.value.message


def test_a_lone_surrogate_in_resources_is_an_invalid_argument() -> None:
    with pytest.raises(InvalidArgument) as caught:
        prepare("{}", Resources=["arn:x\ud800"])
    assert caught.value.field == "Resources"


def test_an_event_built_by_hand_with_a_lone_surrogate_refuses_to_serialise() -> None:
    event = Event(source="s", detail_type="t", detail={"a": "\ud800"}, account="1" * 12, region="r", time="t")
    with pytest.raises(InvalidEvent):
        event.to_json()


def test_reading_an_event_deeper_than_an_envelope_can_be_is_invalid() -> None:
    body = '{"version":"0","detail":' + nested(1101) + "}"
    with pytest.raises(InvalidEvent, match="nested more than 1101"):
        Event.from_json(body.encode())


def test_check_depth_reads_bytes_and_text_alike() -> None:
    for text in ("[" * 11 + "]" * 11, b"[" * 11 + b"]" * 11):
        jsontext.check_depth(text, 11)
        with pytest.raises(jsontext.JsonTooDeep):
            jsontext.check_depth(text, 10)


def test_the_bound_holds_when_the_recursion_limit_is_already_above_it() -> None:
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(5000)
    try:
        prepare(nested(1100))
        with pytest.raises(MalformedDetail):
            prepare(nested(1101))
    finally:
        sys.setrecursionlimit(before)
