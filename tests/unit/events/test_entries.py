from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventpipes.errors import ValidationException
from eventpipes.events import InvalidArgument, MalformedDetail, PutEventsResult, PutEventsResultEntry, entry_size, prepare_entry
from eventpipes.events.entries import bus_name_of, check_entry_list, check_request_size, new_event_ids
from eventpipes.events.errors import EntryError, NotAuthorizedForSource

NOW = datetime(2024, 5, 1, 10, 0, 0, tzinfo=timezone.utc)


def entry(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"Source": "com.example.orders", "DetailType": "OrderPlaced", "Detail": '{"id": 1}'}
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def prepare(body: Any, limit: int = 256 * 1024) -> Any:
    return prepare_entry(body, default_bus="default", account="123456789012", region="eu-west-1", max_entry_bytes=limit, now=NOW)


def test_size_counts_source_detail_type_detail_and_resources_in_utf8_bytes() -> None:
    body = entry(Source="ab", DetailType="cde", Detail='{"é":1}', Resources=["xy", "€"])
    # 2 + 3 + len('{"é":1}' in UTF-8) = 8 + 2 + 3 (the euro sign is 3 bytes)
    assert entry_size(body) == 2 + 3 + 8 + 2 + 3


def test_time_counts_fourteen_bytes_whatever_its_text() -> None:
    base = entry_size(entry())
    assert entry_size(entry(Time="2024-05-01T10:00:00Z")) == base + 14
    assert entry_size(entry(Time=1714557600)) == base + 14


def test_event_bus_name_and_trace_header_do_not_count() -> None:
    assert entry_size(entry(EventBusName="b" * 100, TraceHeader="t" * 100)) == entry_size(entry())


def test_a_valid_entry_becomes_an_envelope() -> None:
    prepared = prepare(entry(Resources=["arn:aws:s3:::b"], Time="2024-01-02T03:04:05+01:00", TraceHeader="Root=1"))
    event = prepared.event
    assert (event.source, event.detail_type, event.detail) == ("com.example.orders", "OrderPlaced", {"id": 1})
    assert (event.account, event.region, event.resources) == ("123456789012", "eu-west-1", ("arn:aws:s3:::b",))
    assert event.time == "2024-01-02T02:04:05Z"
    assert prepared.bus == "default"
    assert prepared.trace_header == "Root=1"


def test_time_defaults_to_now_and_accepts_epoch_seconds() -> None:
    assert prepare(entry()).event.time == "2024-05-01T10:00:00Z"
    assert prepare(entry(Time=0)).event.time == "1970-01-01T00:00:00Z"


@pytest.mark.parametrize("field", ["Source", "DetailType", "Detail"])
@pytest.mark.parametrize("value", [None, ""])
def test_missing_required_fields_fail_with_eventbridges_message(field: str, value: Any) -> None:
    body = entry()
    if value is None:
        del body[field]
    else:
        body[field] = value
    with pytest.raises(InvalidArgument) as caught:
        prepare(body)
    assert caught.value.code == "InvalidArgument"
    assert caught.value.message == f"Parameter {field} is not valid. Reason: {field} is a required argument."
    assert caught.value.field == field


@pytest.mark.parametrize("detail", ["not json", "[1, 2]", '"text"', "42", "null", '{"a": NaN}', '{"a": 1e999}', '{"a": 1'])
def test_detail_must_be_a_json_object(detail: str) -> None:
    with pytest.raises(MalformedDetail) as caught:
        prepare(entry(Detail=detail))
    assert (caught.value.code, caught.value.message) == ("MalformedDetail", "Detail is malformed.")


def test_entry_at_the_limit_passes_and_one_byte_more_fails() -> None:
    body = entry(Detail="{}")
    limit = entry_size(body)
    assert prepare(body, limit).event.detail == {}
    with pytest.raises(InvalidArgument, match="over the limit") as caught:
        prepare(entry(Detail='{ }'), limit)
    assert caught.value.field == "Detail"


@pytest.mark.parametrize(
    ("field", "value"),
    [("Resources", "arn:x"), ("Resources", [1]), ("Source", 5), ("DetailType", ["x"]), ("Time", "yesterday"),
     ("Time", True), ("TraceHeader", ""), ("TraceHeader", "x" * 501), ("EventBusName", "a/b"), ("EventBusName", "")],
)
def test_invalid_fields_are_named(field: str, value: Any) -> None:
    with pytest.raises(InvalidArgument) as caught:
        prepare(entry(**{field: value}))
    assert caught.value.field == field
    assert f"Parameter {field} is not valid" in caught.value.message


def test_unknown_keys_and_non_objects_are_invalid_arguments() -> None:
    with pytest.raises(InvalidArgument, match="Unknown parameter in entry: 'Foo'"):
        prepare(entry(Foo=1))
    with pytest.raises(InvalidArgument):
        prepare(["not", "an", "entry"])


def test_aws_sources_are_reserved() -> None:
    with pytest.raises(NotAuthorizedForSource) as caught:
        prepare(entry(Source="aws.ec2"))
    assert caught.value.code == "NotAuthorizedForSourceException"


def test_event_bus_name_may_be_a_name_or_an_arn() -> None:
    assert prepare(entry(EventBusName="orders")).bus == "orders"
    assert bus_name_of("arn:aws:events:eu-west-1:123456789012:event-bus/orders") == "orders"


@pytest.mark.parametrize("entries", [[], [{}] * 11, {"Source": "x"}, "text"])
def test_the_request_must_hold_one_to_ten_entries(entries: Any) -> None:
    with pytest.raises(ValidationException) as caught:
        check_entry_list(entries)
    assert caught.value.code == "ValidationException"


def test_result_has_the_aws_response_shape() -> None:
    failure = PutEventsResultEntry.failed(MalformedDetail())
    result = PutEventsResult((PutEventsResultEntry(event_id="e-1"), failure))
    assert result.to_dict() == {
        "FailedEntryCount": 1,
        "Entries": [{"EventId": "e-1"}, {"ErrorCode": "MalformedDetail", "ErrorMessage": "Detail is malformed."}],
    }
    assert json.loads(json.dumps(result.to_dict())) == result.to_dict()
    assert isinstance(MalformedDetail(), EntryError)


def test_request_size_is_the_entries_sizes_summed_against_the_limit() -> None:
    entry = {"Source": "ab", "DetailType": "cd", "Detail": "{}", "Time": "2026-01-01T00:00:00Z"}  # 14 + 2 + 2 + 2 = 20
    check_request_size([entry, entry], 40)
    check_request_size([entry, "not an entry"], 20)  # what is not an entry fails alone, later
    with pytest.raises(ValidationException) as error:
        check_request_size([entry, entry], 39)
    assert error.value.message == "Total size of the entries in the request is over the limit."


def test_new_event_ids_are_distinct_version_4_uuids_in_uuid4s_text_form() -> None:
    import uuid

    ids = new_event_ids(500)
    assert len(set(ids)) == 500
    for text in ids:
        parsed = uuid.UUID(text)
        assert (str(parsed), parsed.version, parsed.variant) == (text, 4, uuid.RFC_4122)


def test_an_entry_takes_the_event_id_it_is_given() -> None:
    prepared = prepare_entry({"Source": "s", "DetailType": "d", "Detail": "{}"}, default_bus="b", account="000000000000",
                             region="us-east-1", max_entry_bytes=1024, now=NOW, event_id="the-id")
    assert prepared.event.id == "the-id"


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)


@given(detail=st.dictionaries(st.text(max_size=5), _JSON, max_size=5), ascii_only=st.booleans(), spaced=st.booleans(),
       source=st.text(min_size=1, max_size=8).filter(lambda s: not s.startswith("aws.")), resources=st.lists(st.text(max_size=6), max_size=3))
def test_the_bus_record_holds_the_detail_as_sent_and_every_other_field_as_the_envelope_writes_it(
        detail: dict[str, Any], ascii_only: bool, spaced: bool, source: str, resources: list[str]) -> None:
    text = json.dumps(detail, ensure_ascii=ascii_only, separators=(", ", ": ") if spaced else (",", ":"))
    try:
        prepared = prepare(entry(Source=source, Detail=text, Resources=resources), limit=1024 * 1024)
    except EntryError:
        return  # a lone surrogate in a generated text: refused, nothing to write
    written = prepared.to_json()
    assert json.loads(written) == json.loads(prepared.event.to_json())
    # The detail's own text, byte for byte, at the end; everything before it as Event.to_json writes it.
    head = prepared.event.to_json().decode().split('"detail":', 1)[0]
    assert written.decode() == f'{head}"detail":{text}}}'
