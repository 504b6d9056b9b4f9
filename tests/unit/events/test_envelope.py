from __future__ import annotations

import json

import pytest

from eventpipes.events import Event, InvalidEvent
from eventpipes.events.envelope import format_time, parse_time


def make_event(**overrides: object) -> Event:
    fields: dict[str, object] = dict(
        source="com.example", detail_type="Thing", detail={"a": 1}, account="123456789012",
        region="eu-west-1", time="2024-05-01T10:00:00Z", resources=("arn:x",),
    )
    fields.update(overrides)
    return Event(**fields)  # type: ignore[arg-type]


def test_envelope_has_eventbridge_keys_in_eventbridge_order() -> None:
    body = make_event().to_dict()
    assert list(body) == ["version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"]
    assert body["version"] == "0"
    assert body["detail-type"] == "Thing"


def test_replay_name_appears_only_on_replayed_events() -> None:
    assert "replay-name" not in make_event().to_dict()
    assert make_event(replay_name="r1").to_dict()["replay-name"] == "r1"


def test_json_round_trip_keeps_every_field() -> None:
    event = make_event(detail={"ü": "ß", "n": [1, 2.5, None]}, replay_name="again")
    assert Event.from_json(event.to_json()) == event


def test_ids_are_unique_uuids() -> None:
    first, second = make_event(), make_event()
    assert first.id != second.id
    assert len(first.id) == 36


@pytest.mark.parametrize("missing", ["version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"])
def test_a_missing_envelope_field_is_named(missing: str) -> None:
    body = make_event().to_dict()
    del body[missing]
    with pytest.raises(InvalidEvent) as caught:
        Event.from_dict(body)
    assert caught.value.field == missing
    assert repr(missing) in str(caught.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [("detail", [1]), ("detail", "x"), ("resources", "arn"), ("resources", [1]), ("source", 5), ("replay-name", 3)],
)
def test_a_wrongly_typed_envelope_field_is_named(field: str, value: object) -> None:
    body = make_event().to_dict()
    body[field] = value
    with pytest.raises(InvalidEvent) as caught:
        Event.from_dict(body)
    assert caught.value.field == field


def test_non_json_and_non_object_events_are_rejected() -> None:
    with pytest.raises(InvalidEvent, match="not valid JSON"):
        Event.from_json(b"{nope")
    with pytest.raises(InvalidEvent, match="JSON object"):
        Event.from_json(json.dumps([1, 2]))


def test_time_is_rfc3339_utc_at_whole_seconds() -> None:
    assert format_time(parse_time("2024-05-01T12:30:15.987+02:00")) == "2024-05-01T10:30:15Z"
    assert format_time(parse_time("2024-05-01T10:30:15")) == "2024-05-01T10:30:15Z"
