"""Reading members of a request body as AWS's framework does: type, presence, range.

botocore checks these before sending, so they matter for other clients (curl, other SDKs),
which get AWS's framework messages instead of a traceback.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from eventpipes.api.errors import ApiError, missing

T = TypeVar("T")


def _lower(member: str) -> str:
    return member[:1].lower() + member[1:]


def _wrong(member: str, expected: str) -> ApiError:
    return ApiError("SerializationException", f"{member} must be {expected}")


def string(body: dict[str, Any], member: str, *, required: bool = False) -> str | None:
    """A string member (None when absent and not required)."""
    value = body.get(member)
    if value is None:
        if required:
            raise missing(member)
        return None
    if not isinstance(value, str):
        raise _wrong(member, "a string")
    return value


def required_string(body: dict[str, Any], member: str) -> str:
    value = string(body, member, required=True)
    assert value is not None
    return value


#: EventBridge's pattern for archive, replay, rule and bus names, as its model writes it.
NAME_PATTERN = r"[\.\-_A-Za-z0-9]+"


def name(body: dict[str, Any], member: str, max_length: int) -> str:
    """A required resource name, refused with AWS's framework message (length, then pattern)."""
    value = required_string(body, member)
    where = f"Value '{value}' at '{_lower(member)}' failed to satisfy constraint: Member must"
    if not 1 <= len(value) <= max_length:
        bound = "greater than or equal to 1" if not value else f"less than or equal to {max_length}"
        raise ApiError("ValidationException", f"1 validation error detected: {where} have length {bound}")
    if not re.fullmatch(NAME_PATTERN, value):
        raise ApiError("ValidationException", f"1 validation error detected: {where} satisfy regular expression pattern: "
                       f"{NAME_PATTERN}")
    return value


def integer(body: dict[str, Any], member: str, *, low: int | None = None, high: int | None = None) -> int | None:
    """An integer member within ``[low, high]``, with AWS's constraint message when outside."""
    value = body.get(member)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _wrong(member, "an integer")
    if (low is not None and value < low) or (high is not None and value > high):
        bound = f"greater than or equal to {low}" if low is not None and value < low else f"less than or equal to {high}"
        raise ApiError("ValidationException", f"1 validation error detected: Value '{value}' at '{_lower(member)}' "
                       f"failed to satisfy constraint: Member must have value {bound}")
    return value


def epoch_ms(body: dict[str, Any], member: str) -> int | None:
    """A timestamp member (JSON protocols send epoch seconds; ISO 8601 text is taken too) in ms."""
    value = body.get(member)
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(round(value * 1000))
    if isinstance(value, str):
        try:
            return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)
        except ValueError:
            pass
    raise _wrong(member, "a timestamp (epoch seconds)")


def obj(body: dict[str, Any], member: str) -> dict[str, Any] | None:
    value = body.get(member)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _wrong(member, "an object")
    return value


def strings(body: dict[str, Any], member: str) -> list[str]:
    value = body.get(member)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _wrong(member, "a list of strings")
    return value


def page(items: Sequence[T], key: Callable[[T], str], limit: int | None, token: str | None) -> tuple[list[T], str | None]:
    """One page of ``items`` (sorted by ``key``) after ``token``, and the token of the next page, if any.

    The token is opaque to clients: the key of the last item returned, so a page stays right
    when items are added or removed between calls.
    """
    after = _token_key(token) if token else None
    rest = [item for item in items if after is None or key(item) > after]
    if limit is None or len(rest) <= limit:
        return rest, None
    chosen = rest[:limit]
    return chosen, base64.urlsafe_b64encode(json.dumps(key(chosen[-1])).encode()).decode()


def _token_key(token: str) -> str:
    try:
        value = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, ValueError):
        value = None
    if not isinstance(value, str):
        raise ApiError("ValidationException", "The NextToken provided is invalid.")
    return value
