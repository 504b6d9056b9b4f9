"""Request checks with AWS's wording: the framework's constraint messages and pagination.

AWS checks each member against its model (length, pattern, enum, range) before the
operation runs, and answers one ``ValidationException`` listing every violation:
``1 validation error detected: Value 'x' at 'name' failed to satisfy constraint: Member
must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+`` (several are joined with
``; `` after ``N validation errors detected: ``). Locations are the member names in
lower camel case (``eventBusName``, ``targets.1.member.id``). Pure.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from typing import Any, TypeVar

from eventpipes.control.errors import ValidationException

T = TypeVar("T")

#: EventBridge's charset for rule, target, connection and API destination names.
NAME_PATTERN = r"[\.\-_A-Za-z0-9]+"
#: The charset EventBridge's models give bus names ('/' included, for partner buses).
BUS_NAME_PATTERN = r"[/\.\-_A-Za-z0-9]+"
#: Bus names or bus ARNs, as EventBusName accepts them.
BUS_NAME_OR_ARN_PATTERN = r"(arn:aws[\w-]*:events:[a-z]+-[a-z]+-[\w-]+:[0-9]{12}:event-bus\/)?[/\.\-_A-Za-z0-9]+"


class Checker:
    """Collects constraint violations of one request; ``done()`` raises them together."""

    def __init__(self, request: dict[str, Any]) -> None:
        if not isinstance(request, dict):
            raise ValidationException("The request must be a JSON object.")
        self.request = request
        self.problems: list[str] = []

    def fail(self, value: Any, location: str, constraint: str) -> None:
        shown = "null" if value is None else f"'{value}'"
        self.problems.append(f"Value {shown} at '{location}' failed to satisfy constraint: {constraint}")

    def string(self, key: str, *, required: bool = False, min_length: int = 0, max_length: int | None = None,
               pattern: str | None = None, enum: Sequence[str] | None = None, location: str | None = None,
               value: Any = None, given: bool = False) -> str | None:
        """The member ``key`` as a string (None when absent and optional), checked."""
        where = location or _camel(key)
        found = value if given else self.request.get(key)
        if found is None:
            if required:
                self.fail(None, where, "Member must not be null")
            return None
        if not isinstance(found, str):
            self.problems.append(f"Value at '{where}' must be a string")
            return None
        if len(found) < min_length:
            self.fail(found, where, f"Member must have length greater than or equal to {min_length}")
        elif max_length is not None and len(found) > max_length:
            self.fail(found, where, f"Member must have length less than or equal to {max_length}")
        elif pattern is not None and re.fullmatch(pattern, found) is None:
            self.fail(found, where, f"Member must satisfy regular expression pattern: {pattern}")
        elif enum is not None and found not in enum:
            self.fail(found, where, f"Member must satisfy enum value set: [{', '.join(enum)}]")
        return found

    def integer(self, key: str, *, minimum: int | None = None, maximum: int | None = None) -> int | None:
        where = _camel(key)
        found = self.request.get(key)
        if found is None:
            return None
        if isinstance(found, bool) or not isinstance(found, int):
            self.problems.append(f"Value at '{where}' must be an integer")
            return None
        if minimum is not None and found < minimum:
            self.fail(found, where, f"Member must have value greater than or equal to {minimum}")
        elif maximum is not None and found > maximum:
            self.fail(found, where, f"Member must have value less than or equal to {maximum}")
        return found

    def boolean(self, key: str) -> bool | None:
        found = self.request.get(key)
        if found is not None and not isinstance(found, bool):
            self.problems.append(f"Value at '{_camel(key)}' must be a boolean")
            return None
        return found

    def mapping(self, key: str, *, required: bool = False) -> dict[str, Any] | None:
        found = self.request.get(key)
        if found is None:
            if required:
                self.fail(None, _camel(key), "Member must not be null")
            return None
        if not isinstance(found, dict):
            self.problems.append(f"Value at '{_camel(key)}' must be a structure")
            return None
        return found

    def items(self, key: str, *, required: bool = False, min_items: int = 0, max_items: int | None = None) -> list[Any]:
        where = _camel(key)
        found = self.request.get(key)
        if found is None:
            if required:
                self.fail(None, where, "Member must not be null")
            return []
        if not isinstance(found, list):
            self.problems.append(f"Value at '{where}' must be a list")
            return []
        if len(found) < min_items:
            self.fail(found, where, f"Member must have length greater than or equal to {min_items}")
        elif max_items is not None and len(found) > max_items:
            self.fail(found, where, f"Member must have length less than or equal to {max_items}")
        return found

    def done(self) -> None:
        """Raises ValidationException listing every violation found, in request order."""
        if self.problems:
            count = len(self.problems)
            head = "1 validation error detected: " if count == 1 else f"{count} validation errors detected: "
            raise ValidationException(head + "; ".join(self.problems))


def _camel(key: str) -> str:
    return key[:1].lower() + key[1:]


def page(items: Sequence[T], limit: int | None, token: str | None, default_limit: int = 100) -> tuple[list[T], str | None]:
    """One page of ``items`` (sorted by the caller) and the NextToken of the next, if any.

    A token is the base64 of the position where the next page starts: opaque to callers,
    valid on any reader (every reader holds the same sorted lists).

    Raises:
        ValidationException: a token that was not given by this API.
    """
    start = 0
    if token is not None:
        try:
            start = int(base64.urlsafe_b64decode(token.encode()).decode().removeprefix("p"))
        except (binascii.Error, ValueError, UnicodeDecodeError):
            raise ValidationException("The NextToken is not valid.") from None
        if start < 0:
            raise ValidationException("The NextToken is not valid.")
    size = limit if limit is not None else default_limit
    chosen = list(items[start:start + size])
    following = start + size
    next_token = base64.urlsafe_b64encode(f"p{following}".encode()).decode() if following < len(items) else None
    return chosen, next_token
