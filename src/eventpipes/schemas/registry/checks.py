"""What the registry refuses at its door, before anything reaches the log: bad subjects, deep schemas.

A request refused here changes nothing and gets Confluent's client error (422), never a 500:

- a subject that is empty, holds a control character (newline, NUL, ...), or has a ``.`` or
  ``..`` path segment (``../x``, ``a/../b``): such names end up in URLs, file names and log
  lines of the tools that read the registry. Confluent answers an invalid subject with 42208.
- a schema whose JSON nests deeper than :data:`MAX_SCHEMA_DEPTH`: parsing and compatibility
  checks recurse per level, so a 2,000-deep schema hit Python's recursion limit (a 500 that
  blamed the store). Confluent answers an invalid schema with 42201.

Pure: no I/O.
"""

from __future__ import annotations

import re
import unicodedata

from eventpipes.schemas.registry import errors

#: Deepest JSON nesting ({ and [) a schema text may have. A record field of record type takes
#: three levels (record, fields list, field), so this allows about 40 nested records: well past
#: real schemas, and well short of the ~600 levels at which avro's parser reached Python's
#: default recursion limit here (measured: record nesting 150 deep = JSON depth 450 parses).
MAX_SCHEMA_DEPTH = 128

_DOT_SEGMENT = re.compile(r"(^|[/\\])\.{1,2}([/\\]|$)")


def check_subject(subject: str) -> None:
    """Raises ``InvalidSubject`` (422, 42208) for a subject the registry must not create."""
    if not subject:
        raise errors.InvalidSubject("The specified subject is not valid: it is empty")
    control = next((c for c in subject if unicodedata.category(c) == "Cc"), None)
    if control is not None:
        raise errors.InvalidSubject(f"The specified subject {_shown(subject)} is not valid: "
                                    f"it contains the control character U+{ord(control):04X}")
    if _DOT_SEGMENT.search(subject):
        raise errors.InvalidSubject(f"The specified subject {_shown(subject)} is not valid: "
                                    "it contains a '.' or '..' path segment")


def check_schema_depth(text: str) -> None:
    """Raises ``InvalidSchemaError`` (422, 42201) when ``text`` nests deeper than ``MAX_SCHEMA_DEPTH``.

    One pass over the characters, brackets inside JSON strings skipped, no recursion: it must
    not fail the way the parser would.
    """
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "{[":
            depth += 1
            if depth > MAX_SCHEMA_DEPTH:
                raise errors.InvalidSchemaError(
                    f"Invalid schema: nested more than {MAX_SCHEMA_DEPTH} levels deep (JSON objects and arrays)")
        elif char in "}]":
            depth -= 1


def _shown(subject: str) -> str:
    # repr() escapes newlines and NULs, so the message stays one printable line; long names are cut.
    text = repr(subject)
    return text if len(text) <= 200 else text[:197] + "..."
