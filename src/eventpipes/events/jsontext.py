"""JSON text in and out at EventBridge's nesting depth, without Python's recursion limit in the way.

EventBridge's PutEvents reference says "PutEvents will only process nested JSON up to 1100
levels deep" (the API reference and the SDKs generated from it; some later revisions print
1000). eventpipes takes the larger figure: a ``Detail`` nested up to :data:`MAX_DETAIL_DEPTH`
levels is put, a deeper one fails its entry alone with ``MalformedDetail``. Depth counts
containers: ``{}`` and ``[]`` are 1 deep, ``{"a": {"b": 1}}`` is 2, a scalar 0. An envelope
holds its detail one level down, so events are read up to :data:`MAX_EVENT_DEPTH`.

Python's ``json.loads`` and ``json.dumps`` (the C scanner and encoder) count each nesting level
against the interpreter's recursion limit (1000 by default, shared with the frames already on
the stack), so they raise ``RecursionError`` somewhere under 1000 levels. Here:

* text is parsed by the C scanner first. While the recursion limit is at or under the bound
  (Python's default 1000 is), a parse that succeeds is shallower than the bound, so ordinary
  documents cost nothing more;
* on ``RecursionError`` (or when the limit is above the bound, so the parser alone would not
  stop at it) the depth is measured from the text: deeper than the bound is refused with
  :class:`JsonTooDeep`; otherwise it is parsed again with the recursion limit raised by
  :data:`HEADROOM` for the duration (:func:`recursion_headroom`). The scan is skipped when the
  count of ``{`` and ``[`` (an upper bound on the depth) is within the bound;
* serialisation meeting ``RecursionError`` runs again the same way.

Rejected alternative: a pure-Python iterative parser. It has no depth limit but runs 20-50x
slower than the C scanner on every event; the C scanner with headroom handles the documented
depth, and the 1100-level C recursion needs well under 1 MB of C stack.
"""

from __future__ import annotations

import json
import re
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

#: PutEvents: "will only process nested JSON up to 1100 levels deep" (API reference, PutEvents).
MAX_DETAIL_DEPTH = 1100
#: An envelope holds ``detail`` one level down.
MAX_EVENT_DEPTH = MAX_DETAIL_DEPTH + 1
#: How far :func:`recursion_headroom` raises the recursion limit: the deepest text accepted
#: here (an envelope) plus room for the frames of the caller.
HEADROOM = MAX_EVENT_DEPTH + 200

# A JSON string (with its escapes) or one bracket; the unrolled loop keeps the regex linear.
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)
_TOKEN_BYTES = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)
_OPEN = frozenset("[{")
_OPEN_BYTES = frozenset(b"[{")
_QUOTE = frozenset(('"', ord('"')))

_headroom_lock = threading.Lock()
_headroom_users = 0
_saved_limit = 0


class JsonTooDeep(ValueError):
    """JSON text nested deeper than the caller's bound; a ``ValueError`` as any bad JSON is.

    Attributes:
        limit: the bound.
        position: offset of the opening bracket that went past the bound.
    """

    def __init__(self, limit: int, position: int) -> None:
        super().__init__(f"JSON nested more than {limit} levels deep (at character {position})")
        self.limit = limit
        self.position = position


def check_depth(text: str | bytes, limit: int) -> None:
    """Raise :class:`JsonTooDeep` if ``text`` opens more than ``limit`` nested containers.

    Text that is not JSON is measured as far as brackets outside strings go; the parser
    reports what else is wrong with it.
    """
    opening = text.count("{") + text.count("[") if isinstance(text, str) else text.count(b"{") + text.count(b"[")
    if opening <= limit:
        return
    if isinstance(text, str):
        _scan(_TOKEN.finditer(text), _OPEN, limit)
    else:
        _scan(_TOKEN_BYTES.finditer(text), _OPEN_BYTES, limit)


def _scan(tokens: Iterator[re.Match[Any]], opening: frozenset[Any], limit: int) -> None:
    depth = 0
    for token in tokens:
        first = token.group()[0]
        if first in opening:
            depth += 1
            if depth > limit:
                raise JsonTooDeep(limit, token.start())
        elif first not in _QUOTE:  # a closing bracket
            depth = max(depth - 1, 0)


def loads(text: str | bytes, *, limit: int, decoder: json.JSONDecoder | None = None, **options: Any) -> Any:
    """``json.loads`` for text nested at most ``limit`` levels.

    Args:
        text: the JSON text.
        limit: the deepest nesting accepted.
        decoder: parses ``str`` text instead of ``json.loads(text, **options)``: a caller with
            hooks keeps one decoder rather than have ``json.loads`` build one per call
            (about half the time of parsing a 450-byte PutEvents detail).
        options: ``json.loads`` options (without ``decoder``).

    Raises:
        JsonTooDeep: nested deeper than ``limit``.
        ValueError: not JSON (``json.JSONDecodeError``, ``UnicodeDecodeError``) or refused by a hook.
    """
    if sys.getrecursionlimit() > limit:
        check_depth(text, limit)  # the parser alone could go past the bound
    parse: Callable[[Any], Any] = decoder.decode if decoder is not None and isinstance(text, str) else partial(json.loads, **options)
    try:
        return parse(text)
    except RecursionError:
        pass
    check_depth(text, limit)
    with recursion_headroom():
        return parse(text)


def dumps(value: Any, **options: Any) -> str:
    """``json.dumps`` for values nested up to :data:`MAX_EVENT_DEPTH` levels.

    Raises:
        JsonTooDeep: the value is nested deeper than the headroom allows.
    """
    try:
        return json.dumps(value, **options)
    except RecursionError:
        with recursion_headroom():
            try:
                return json.dumps(value, **options)
            except RecursionError:
                raise JsonTooDeep(MAX_EVENT_DEPTH, 0) from None


@contextmanager
def recursion_headroom() -> Iterator[None]:
    """Raise the interpreter's recursion limit by :data:`HEADROOM` while the block runs.

    The limit is process-wide, so concurrent users share one raise: the first raises it,
    the last restores it (a thread's restore never cuts another's parse short).
    """
    global _headroom_users, _saved_limit
    with _headroom_lock:
        if _headroom_users == 0:
            _saved_limit = sys.getrecursionlimit()
            sys.setrecursionlimit(_saved_limit + HEADROOM)
        _headroom_users += 1
    try:
        yield
    finally:
        with _headroom_lock:
            _headroom_users -= 1
            if _headroom_users == 0:
                sys.setrecursionlimit(_saved_limit)
