"""Reading a Kafka client properties file (Java ``.properties`` syntax), keeping where each key was.

Kafka's own tools (``--command-config``), librdkafka's ``-F`` and every managed service's
"client configuration" download use this format, so eventpipes reads it as they do: ``key=value``,
``key: value`` or ``key value``; ``#`` and ``!`` comment lines; a line ending in an odd number of
backslashes continues on the next; ``\\`` escapes. What the keys mean is ``client_config``'s job.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from eventpipes.kafka.errors import InvalidClientConfiguration

_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


@dataclass(frozen=True, slots=True)
class Property:
    """One ``key=value`` of a properties file."""

    key: str
    value: str
    line: int
    """1-based line where the property starts, for error messages."""


def read_properties(path: Path) -> dict[str, Property]:
    """The properties of ``path``, the last one winning when a key repeats (as java.util.Properties does).

    Raises:
        InvalidClientConfiguration: the file cannot be read.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidClientConfiguration(f"cannot read client properties file {path}: {exc.__class__.__name__}: "
                                          f"{getattr(exc, 'strerror', None) or exc}", path=str(path)) from None
    return {prop.key: prop for prop in parse_properties(text)}


def parse_properties(text: str) -> list[Property]:
    """Every property of ``text`` in file order."""
    found: list[Property] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        start = index
        logical = lines[index].lstrip()
        index += 1
        if not logical or logical[0] in "#!":
            continue
        while _continues(logical) and index < len(lines):
            logical = logical[:-1] + lines[index].lstrip()
            index += 1
        key, value = _split(logical)
        found.append(Property(_unescape(key), _unescape(value), start + 1))
    return found


def _continues(line: str) -> bool:
    trailing = len(line) - len(line.rstrip("\\"))
    return trailing % 2 == 1


def _split(line: str) -> tuple[str, str]:
    """Key and value: the key ends at the first unescaped ``=``, ``:`` or whitespace."""
    position = 0
    while position < len(line):
        char = line[position]
        if char == "\\":
            position += 2
            continue
        if char in "=: \t":
            break
        position += 1
    key, rest = line[:position], line[position:].lstrip(" \t")
    if rest[:1] in ("=", ":"):
        rest = rest[1:].lstrip(" \t")
    return key, rest


def _unescape(text: str) -> str:
    out: list[str] = []
    position = 0
    while position < len(text):
        char = text[position]
        if char == "\\" and position + 1 < len(text):
            following = text[position + 1]
            out.append(_ESCAPES.get(following, following))
            position += 2
            continue
        out.append(char)
        position += 1
    return "".join(out)
