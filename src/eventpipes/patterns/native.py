"""The matcher's optional C loops: what they are given, and when they are used.

``_native.c`` (built by setup.py where a C compiler is found) does two things the Python
code also does, several times faster (measured in ``benchmarks/matcher_vs_ruler.py``):

- :func:`flatten_text`: JSON text of an event to the fields some rule reads, in one pass
  that skips (and still validates) everything else: what ``flatten(json.loads(text), paths)``
  gives, without building the parts of the event no rule looks at; :func:`flatten_object`
  does the same for an event already parsed (the router's case).
- :func:`find`: the machine walks of ``machine._find`` and ``machine._find_consistent``
  (events whose arrays need their positions kept apart) over a *lowered* copy of the states
  (:func:`lower`): each state a tuple, each child reached by a tuple read instead of an id
  looked up in a dict, exact values, prefixes and numeric ranges looked up in C. Index kinds
  not lowered (suffixes, ignore-case, wildcards, cidr, anything-but, exists) are asked through
  their ``ValueIndex.targets`` as before.

Both defer to Python for what they do not handle (C returns None: see ``_native.c``), so
their results are the Python code's by construction where they defer, and by the property
tests in ``tests/unit/patterns/test_patterns_native.py`` where they do not.
``EVENTPIPES_NO_EXTENSIONS=1`` turns them off (as ``AIOKAFKA_NO_EXTENSIONS`` does in aiokafka).

Lowering happens in :meth:`Machine.update`, under its lock, before the new states are
published; a state's lowered form is kept on it (``NameState.lowered``) and reused by
every later batch that does not change the state (states are copied on write), so a batch
lowers only the states it created.
"""

from __future__ import annotations

import json
import os
import struct
from types import ModuleType
from typing import Any, Protocol

from eventpipes.patterns.flatten import FieldPaths, FlatEvent
from eventpipes.patterns.index import ValueIndex
from eventpipes.patterns.jsondepth import scanstring
from eventpipes.patterns.ranges import RangeTable
from eventpipes.patterns.values import _SMALL_INTS, FALSE_KEY, NULL_KEY, TRUE_KEY, Num, to_num

_native: ModuleType | None
try:
    if os.environ.get("EVENTPIPES_NO_EXTENSIONS"):
        raise ImportError("EVENTPIPES_NO_EXTENSIONS is set")
    # An attribute of the package, not ``from ..._native import``: import-linter reads no
    # compiled module (as eventpipes.pipes.sources.kafka imports _kafka_shape).
    from eventpipes.patterns import _native as _loaded
    _loaded.configure(TRUE_KEY, FALSE_KEY, NULL_KEY, Num, _SMALL_INTS)
    _native = _loaded
except ImportError:  # pragma: no cover - depends on the build machine
    _native = None

#: Whether the C loops are there (built, and not turned off).
AVAILABLE = _native is not None

#: A lowered state: (rule names or None, {path: edge}, ((path, children), ...) or None).
Lowered = tuple[Any, ...]


class _State(Protocol):
    """What lowering reads of a ``machine.NameState`` (typed here: machine imports this module)."""

    rules: frozenset[str]
    paths: dict[str, ValueIndex]
    absent: dict[str, tuple[int, ...]]
    children: dict[int, Any]
    lowered: Lowered | None


def schema(paths: FieldPaths) -> Any:
    """The C form of ``paths`` for :func:`flatten_text`, or None without the C loops."""
    if _native is None:
        return None
    tree: dict[str, Any] = {}
    nodes: dict[str, dict[str, Any]] = {"": tree}
    # Shorter paths first, so that a path's parent node exists when it is placed.
    for path in sorted(paths.leaves | paths.inner, key=lambda p: p.count(".")):
        parent, _, key = path.rpartition(".")
        node = nodes.get(parent)
        if node is None:  # cannot happen: every proper dot-prefix of a leaf is in ``inner``
            continue
        child: dict[str, Any] | None = {} if path in paths.inner else None
        if child is not None:
            nodes[path] = child
        node[key] = (path, path in paths.leaves, child)
    # Each node maps a key to (path, whether a condition names the path, the node below or None).
    return _native.Schema(tree, to_num, scanstring)


def flatten_text(native_schema: Any, text: str | bytes | bytearray) -> FlatEvent | None:
    """The event's fields at the schema's paths, or None where the Python path must read it."""
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode(json.detect_encoding(text), "surrogatepass")
        except (UnicodeDecodeError, LookupError):
            return None
    found = native_schema.flatten(text)
    if found is None:
        return None
    return FlatEvent(*found)


def flatten_object(native_schema: Any, event: Any) -> FlatEvent | None:
    """``flatten(event, paths)`` of a parsed event (a dict), or None where the Python walk must do it."""
    found = native_schema.flatten_object(event)
    return None if found is None else FlatEvent(*found)


def find(lowered: Lowered, event: FlatEvent) -> set[str]:
    """``machine._find`` over the lowered states, or ``machine._find_consistent`` if the event has arrays."""
    assert _native is not None  # states are lowered only when it is there
    result: set[str]
    if event.has_arrays:
        result = _native.find_consistent(lowered, event.values, event.members)
    else:
        result = _native.find(lowered, event.values)
    return result


def lower(root: _State) -> Lowered:
    """``root``'s lowered form, lowering every state below it that has none yet (a loop, no recursion)."""
    pending: list[tuple[_State, bool]] = [(root, False)]
    while pending:
        state, ready = pending.pop()
        if state.lowered is not None:
            continue
        if not ready:
            pending.append((state, True))
            pending.extend((child, False) for child in state.children.values() if child.lowered is None)
            continue
        state.lowered = _lower_state(state)
    assert root.lowered is not None
    return root.lowered


def _lower_state(state: _State) -> Lowered:
    kids: dict[int, Lowered] = {child_id: child.lowered for child_id, child in state.children.items()}
    edges = {path: _lower_index(index, kids) for path, index in state.paths.items()}
    absent = tuple((path, tuple(kids[i] for i in ids)) for path, ids in state.absent.items())
    return (state.rules or None, edges, absent or None)


def _lower_index(index: ValueIndex, kids: dict[int, Lowered]) -> tuple[Any, ...]:
    def resolved(table: dict[Any, tuple[int, ...]] | None) -> dict[Any, tuple[Lowered, ...]] | None:
        return None if table is None else {key: tuple(kids[i] for i in ids) for key, ids in table.items()}

    others = index.scanned or index.eq_ic or index.suffix or index.prefix_ic or index.suffix_ic
    table = None
    if index.numeric and not others:
        table = index.range_table or RangeTable(index.numeric)
    if others or (table is not None and table.scan):
        # Asked through ValueIndex.targets (by child id) as the Python walk does.
        return (None, None, None, None, None, (index, kids))
    bounds = regions = None
    if table is not None:
        bounds = struct.pack(f"={len(table.bounds)}q", *table.bounds)
        regions = tuple(tuple(kids[i] for i in ids) for ids in table.regions)
    prefix = resolved(index.prefix)
    lengths = index.lengths["prefix"] if prefix is not None else None
    return (resolved(index.exact), prefix, lengths, bounds, regions, None)
