"""Times typed on the command line, read the way the AWS CLI reads timestamp parameters.

Every CLI option that takes a time (``tail --since``, ``replay start --start/--end``) goes
through :func:`parse_timestamp`, so one text means one instant everywhere.

Accepted, as botocore's ``parse_timestamp`` accepts them:

- epoch **seconds**, whole or with a fraction (``1740823200``, ``1740823200.25``): what
  ``date +%s`` prints. botocore reads any number as seconds; so does eventpipes.
- ISO 8601 / RFC 3339 (``2025-03-01T10:00:00Z``, ``2025-03-01T12:00:00+02:00``,
  ``2025-03-01 10:00:00.5``, ``2025-03-01``). A time without an offset is UTC, as botocore
  assumes UTC for it (not the machine's zone); a date alone is its midnight UTC.

Refused with :class:`InvalidTimestamp` (the CLI exits 2), where botocore would guess or
fail late:

- a number that, read as seconds, lies after year 9999: epoch milliseconds (``date +%s%3N``),
  which eventpipes read before and the AWS CLI never did. The error says so and gives the
  seconds. Reading such a number as milliseconds instead would make ``1740823200000`` and
  ``1740823200`` the same instant by a guess about magnitude; the AWS CLI makes no such guess.
- eight digits that are also a calendar date in ISO 8601's basic form (``20250301``): seconds
  (1970-08-23) or 1 March 2025? Write ``2025-03-01`` instead.
- a time before the epoch (Kafka record timestamps start there), ``nan``, ``inf``, and the
  free-form dates botocore hands to dateutil (``03/01/2025`` guesses day and month order).

Pure: standard library only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import Literal

from eventpipes.errors import ValidationException

#: The first millisecond after 9999-12-31T23:59:59.999Z, the last instant ISO 8601 writes in four digits.
MAX_EPOCH_MS = 253_402_300_800_000
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_BASIC_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")

Form = Literal["epoch-seconds", "iso8601"]


class InvalidTimestamp(ValidationException):
    """A time option that cannot be read as one instant.

    Attributes:
        parameter: the parameter or option it was given for (``EventStartTime``, ``--since``).
        path: the same, as every eventpipes error names where it points.
        value: the text as given.
        reason: why it was refused, and what to write instead.
    """

    def __init__(self, parameter: str, value: str, reason: str) -> None:
        shown = value if len(value) <= 64 else value[:61] + "..."
        super().__init__(f"Parameter {parameter} is not valid. Reason: {shown!r} {reason}")
        self.parameter = parameter
        self.path = parameter
        self.value = value
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Instant:
    """A resolved time: what a CLI option meant."""

    epoch_ms: int
    """Milliseconds since the epoch (Kafka's timestamp unit); finer fractions are dropped."""
    form: Form
    """How it was written: ``epoch-seconds`` or ``iso8601``."""

    @property
    def iso(self) -> str:
        """ISO 8601 UTC with milliseconds, as the CLI shows resolved times."""
        return format_iso(self.epoch_ms)


def parse_timestamp(text: str, parameter: str) -> Instant:
    """Read ``text`` as the AWS CLI reads a timestamp parameter (see the module docstring).

    Args:
        text: the option's value as typed.
        parameter: named in the error (``EventStartTime``, ``--since``).

    Returns:
        The instant, in milliseconds since the epoch.

    Raises:
        InvalidTimestamp: empty, ambiguous, out of range, or in no accepted form.
    """
    value = text.strip()
    if not value:
        raise InvalidTimestamp(parameter, text, "is empty: give epoch seconds or an ISO 8601 time such as 2025-03-01T10:00:00Z")
    if _NUMBER.match(value):
        return Instant(_epoch_seconds(value, text, parameter), "epoch-seconds")
    return Instant(_iso8601(value, text, parameter), "iso8601")


def format_iso(epoch_ms: int) -> str:
    """``2025-03-01T10:00:00.000Z``: UTC, milliseconds, ``Z``."""
    moment = _EPOCH + timedelta(milliseconds=epoch_ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


def _epoch_seconds(value: str, text: str, parameter: str) -> int:
    basic = _BASIC_DATE.match(value)
    if basic and _is_date(*(int(part) for part in basic.groups())):
        y, m, d = basic.groups()
        raise InvalidTimestamp(parameter, text, f"is ambiguous: epoch seconds ({format_iso(int(value) * 1000)}) or the date "
                                                f"{y}-{m}-{d}? Write {y}-{m}-{d} for the date")
    try:
        epoch_ms = int((Decimal(value) * 1000).to_integral_value(rounding=ROUND_FLOOR))
    except InvalidOperation:  # pragma: no cover - the pattern admits only finite decimals
        raise InvalidTimestamp(parameter, text, "is not a number of epoch seconds") from None
    if epoch_ms < 0:
        raise InvalidTimestamp(parameter, text, "is before the epoch (1970-01-01T00:00:00Z), where Kafka timestamps start")
    if epoch_ms >= MAX_EPOCH_MS:
        raise InvalidTimestamp(parameter, text, _too_large(epoch_ms))
    return epoch_ms


def _too_large(epoch_ms: int) -> str:
    typed = epoch_ms // 1000  # the number as given, without its fraction
    if typed < MAX_EPOCH_MS:  # a plausible time in milliseconds
        return (f"read as epoch seconds (as the AWS CLI reads numbers) is after year 9999; it looks like epoch "
                f"milliseconds: give seconds ({typed // 1000}, `date +%s`) or ISO 8601 ({format_iso(typed)})")
    return "read as epoch seconds (as the AWS CLI reads numbers) is after year 9999"


def _iso8601(value: str, text: str, parameter: str) -> int:
    # RFC 3339 allows a lower-case "t" and "z"; fromisoformat wants them upper-case.
    try:
        moment = datetime.fromisoformat(value.upper())
    except ValueError:
        raise InvalidTimestamp(parameter, text, "is neither epoch seconds nor an ISO 8601 time "
                                                "(e.g. 1740823200 or 2025-03-01T10:00:00Z)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)  # botocore takes a time without an offset as UTC
    epoch_ms = _ms(moment)
    if epoch_ms < 0:
        raise InvalidTimestamp(parameter, text, "is before the epoch (1970-01-01T00:00:00Z), where Kafka timestamps start")
    if epoch_ms >= MAX_EPOCH_MS:
        raise InvalidTimestamp(parameter, text, "is after year 9999 once its offset is applied")
    return epoch_ms


def _ms(moment: datetime) -> int:
    # Exact integer arithmetic: float seconds would round some milliseconds down by one.
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def _is_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


__all__ = ["Instant", "InvalidTimestamp", "MAX_EPOCH_MS", "format_iso", "parse_timestamp"]
