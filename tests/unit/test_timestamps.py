"""Times as the AWS CLI reads them: epoch seconds, ISO 8601 with or without offset; the rest refused."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from eventpipes.errors import ValidationException
from eventpipes.timestamps import MAX_EPOCH_MS, Instant, InvalidTimestamp, format_iso, parse_timestamp

T0_S = int(datetime(2025, 3, 1, 10, 0, tzinfo=timezone.utc).timestamp())  # 1740823200
T0_MS = T0_S * 1000


@pytest.mark.parametrize(
    ("text", "epoch_ms", "form"),
    [
        # epoch seconds, as botocore reads any number (what `date +%s` prints)
        (str(T0_S), T0_MS, "epoch-seconds"),
        (f" {T0_S} ", T0_MS, "epoch-seconds"),
        (f"{T0_S}.25", T0_MS + 250, "epoch-seconds"),
        (f"{T0_S}.0009", T0_MS, "epoch-seconds"),  # below a millisecond: dropped, not rounded up
        (f"+{T0_S}", T0_MS, "epoch-seconds"),
        ("0", 0, "epoch-seconds"),
        ("253402300799", MAX_EPOCH_MS - 1000, "epoch-seconds"),  # 9999-12-31T23:59:59Z
        # ISO 8601 / RFC 3339
        ("2025-03-01T10:00:00Z", T0_MS, "iso8601"),
        ("2025-03-01t10:00:00z", T0_MS, "iso8601"),
        ("2025-03-01T10:00:00+00:00", T0_MS, "iso8601"),
        ("2025-03-01T12:00:00+02:00", T0_MS, "iso8601"),
        ("2025-03-01T05:00:00-05:00", T0_MS, "iso8601"),
        ("2025-03-01T10:00:00", T0_MS, "iso8601"),  # no offset: UTC, as botocore assumes
        ("2025-03-01 10:00:00", T0_MS, "iso8601"),
        ("2025-03-01T10:00", T0_MS, "iso8601"),
        ("2025-03-01T10:00:00.123Z", T0_MS + 123, "iso8601"),
        ("2025-03-01T10:00:00.123999Z", T0_MS + 123, "iso8601"),
        ("2025-03-01", T0_MS - 10 * 3600 * 1000, "iso8601"),  # a date: its midnight UTC
        ("1970-01-01T00:00:00Z", 0, "iso8601"),
    ],
)
def test_accepted_forms(text: str, epoch_ms: int, form: str) -> None:
    assert parse_timestamp(text, "EventStartTime") == Instant(epoch_ms, form)  # type: ignore[arg-type]


def test_epoch_seconds_are_not_read_as_milliseconds() -> None:
    """The reported bug: `date +%s` was read as milliseconds, a 1970 window."""
    instant = parse_timestamp(str(T0_S), "--since")
    assert instant.iso == "2025-03-01T10:00:00.000Z"


def test_epoch_milliseconds_are_refused_with_the_seconds_to_give() -> None:
    with pytest.raises(InvalidTimestamp) as caught:
        parse_timestamp(str(T0_MS), "EventStartTime")
    error = caught.value
    assert isinstance(error, ValidationException) and error.code == "ValidationException"
    assert error.parameter == error.path == "EventStartTime"
    assert "milliseconds" in error.reason and str(T0_S) in error.reason and "2025-03-01T10:00:00.000Z" in error.reason
    assert str(error).startswith("ValidationException: Parameter EventStartTime is not valid. Reason: '1740823200000'")
    assert "\n" not in str(error)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("20250301", "ambiguous"),  # epoch seconds in 1970, or ISO 8601's basic date?
        ("-1", "before the epoch"),
        ("1969-12-31T23:59:59Z", "before the epoch"),
        ("1970-01-01T00:30:00+01:00", "before the epoch"),
        ("9999-12-31T23:59:59-01:00", "after year 9999"),
        ("253402300800", "after year 9999"),
        ("1" * 30, "after year 9999"),
        ("nan", "neither epoch seconds nor an ISO 8601"),
        ("inf", "neither epoch seconds nor an ISO 8601"),
        ("1e9", "neither epoch seconds nor an ISO 8601"),
        ("03/01/2025", "neither epoch seconds nor an ISO 8601"),  # day/month order would be a guess
        ("March 1 2025", "neither epoch seconds nor an ISO 8601"),
        ("2025-02-30T00:00:00Z", "neither epoch seconds nor an ISO 8601"),
        ("2025-03-01T10:00:00+25:00", "neither epoch seconds nor an ISO 8601"),
        ("", "empty"),
        ("   ", "empty"),
    ],
)
def test_refused_forms_name_the_parameter_and_the_reason(text: str, words: str) -> None:
    with pytest.raises(InvalidTimestamp) as caught:
        parse_timestamp(text, "--since")
    assert words in caught.value.reason
    assert caught.value.path == "--since" and caught.value.value == text


def test_a_huge_value_is_refused_on_one_short_line() -> None:
    with pytest.raises(InvalidTimestamp) as caught:
        parse_timestamp("9" * 100_000, "--since")
    assert len(str(caught.value)) < 300 and "\n" not in str(caught.value)


def test_eight_digits_that_are_no_date_are_plain_seconds() -> None:
    assert parse_timestamp("20251399", "--since").epoch_ms == 20_251_399_000


def test_format_iso_is_utc_with_milliseconds() -> None:
    assert format_iso(0) == "1970-01-01T00:00:00.000Z"
    assert format_iso(T0_MS + 7) == "2025-03-01T10:00:00.007Z"
    assert format_iso(MAX_EPOCH_MS - 1) == "9999-12-31T23:59:59.999Z"
