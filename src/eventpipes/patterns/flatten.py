"""Event -> its leaf fields: dot-joined path, value, and the array elements it sits in.

Objects are walked, arrays are "crushed out" (each element's leaves belong to the
array's path), and only leaves count: an empty array or object contributes no
field, which is why ``{"exists": true}`` fails on them and ``{"exists": false}``
holds. Each leaf remembers its *array membership*, the (array, element) pairs on
the way to it, so the machine can refuse a match that takes two fields from
different elements of one array, as EventBridge does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterable, Mapping

from eventpipes.patterns.values import Num, Value, to_num

#: (array number within the event, element index) pairs, outermost array first.
Membership = tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class FlatEvent:
    """An event's leaves grouped by path."""

    values: dict[str, list[Value]]
    """Path -> the values found at that path, in document order."""
    members: dict[str, list[Membership]]
    """Path -> the array membership of each value, parallel to ``values``."""
    has_arrays: bool
    """Whether two leaves at different paths sit in one array's elements: only then can a
    match take fields from two elements of one array, and only then must the machine check
    memberships (else it may ignore them; they are still recorded)."""

    def fields(self) -> list[tuple[str, Value, Membership]]:
        """All leaves as (path, value, membership), sorted by path."""
        return [
            (path, value, member)
            for path in sorted(self.values)
            for value, member in zip(self.values[path], self.members[path])
        ]


def leaf_value(value: Any) -> Value:
    """A JSON scalar as the matcher compares it (numbers become :class:`Num`)."""
    if isinstance(value, str) or value is None or isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return to_num(value)
    if isinstance(value, Decimal):
        return to_num(int(value)) if value == value.to_integral_value() else to_num(float(value))
    return str(value)


@dataclass(frozen=True, slots=True)
class FieldPaths:
    """The field paths some rule looks at: where ``flatten`` needs to look, and nowhere else.

    The machine finds values by path, so leaves at other paths cannot change which rules
    match; skipping them makes an event's cost follow what the rules read, not its size.
    """

    leaves: frozenset[str]
    """Paths a condition names."""
    inner: frozenset[str]
    """Every proper dot-prefix of those: the objects worth walking into."""
    native: object = field(default=None, compare=False, repr=False)
    """The same paths for the C flattener (``native.schema``), or None without it."""

    @classmethod
    def of(cls, paths: Iterable[str]) -> "FieldPaths":
        leaves = frozenset(paths)
        inner = frozenset(path[:i] for path in leaves for i, char in enumerate(path) if char == ".")
        return cls(leaves, inner)


def _is_object(node: Any) -> bool:
    # Exact type checks first: JSON gives dict, list and scalars, and the ABC check is slow.
    kind = type(node)
    if kind is dict:
        return True
    if kind is list or kind is str or kind is int or kind is float or kind is bool or node is None:
        return False
    return isinstance(node, Mapping)


class _Walk:
    """One flattening's state. A plain object, not a closure: a closure over these
    names cost a function and a cell per name for every event, and each is one more
    object for the garbage collector to count."""

    __slots__ = ("values", "members", "leaves", "inner", "wanted", "arrays", "nested", "array_paths")

    def __init__(self, leaves: frozenset[str] | None, inner: frozenset[str] | None) -> None:
        self.values: dict[str, list[Value]] = {}
        self.members: dict[str, list[Membership]] = {}
        self.leaves = leaves
        self.inner = inner
        self.wanted = None if leaves is None or inner is None else leaves | inner
        self.arrays = 0
        self.nested = False
        #: Array number -> the first path with a leaf in one of its elements.
        self.array_paths: dict[int, str] = {}

    def walk(self, node: Any, path: str, member: Membership) -> None:
        # Called only for paths some rule reads (or every path, without ``only``): the
        # checks happen before the call, which is most of the saving on a wide event.
        if _is_object(node):
            if self.inner is not None and path not in self.inner:
                return
            wanted = self.wanted
            for key, child in node.items():
                child_path = f"{path}.{key}" if path else key
                if wanted is None or child_path in wanted:
                    self.walk(child, child_path, member)
        elif isinstance(node, list):
            self.arrays += 1
            array = self.arrays
            for index, child in enumerate(node):
                # Two conditions never share a path, so only elements that hold
                # further fields (objects, arrays) can put two fields in conflict:
                # scalar elements need no membership, and most events stay simple.
                if type(child) is list or _is_object(child):
                    self.walk(child, path, member + ((array, index),))
                else:
                    self.walk(child, path, member)
        elif self.leaves is None or path in self.leaves:
            found = self.values.get(path)
            if found is None:
                self.values[path] = [leaf_value(node)]
                self.members[path] = [member]
            else:
                found.append(leaf_value(node))
                self.members[path].append(member)
            if member:
                self.note_arrays(path, member)

    def note_arrays(self, path: str, member: Membership) -> None:
        """Record that a leaf at ``path`` sits in these arrays' elements.

        One condition per path in a sub-rule (``parse`` keys a branch's conditions by path),
        so fields from two elements of one array can only meet in a match when leaves of two
        different paths share that array: that is when ``nested`` turns on.
        """
        array_paths = self.array_paths
        for array, _ in member:
            first = array_paths.setdefault(array, path)
            if first != path:
                self.nested = True


    def walk_iteratively(self, root: Mapping[str, Any]) -> None:
        """What calling :meth:`walk` on each wanted top-level field does, with an explicit stack.

        Used when the recursive walk runs out of Python frames (an event nested about
        1,000 levels deep, on the paths some rule reads). Nodes are taken in the same
        order (depth first, document order), so arrays get the same numbers and values
        the same order as the recursive walk gives them.
        """
        wanted, inner, leaves = self.wanted, self.inner, self.leaves
        pending: list[tuple[Any, str, Membership]] = [
            (child, key, ()) for key, child in reversed(list(root.items())) if wanted is None or key in wanted
        ]
        while pending:
            node, path, member = pending.pop()
            if _is_object(node):
                if inner is not None and path not in inner:
                    continue
                children = [(child, f"{path}.{key}" if path else key) for key, child in node.items()]
                pending.extend(
                    (child, child_path, member)
                    for child, child_path in reversed(children)
                    if wanted is None or child_path in wanted
                )
            elif isinstance(node, list):
                self.arrays += 1
                array = self.arrays
                for index in range(len(node) - 1, -1, -1):
                    child = node[index]
                    if type(child) is list or _is_object(child):
                        pending.append((child, path, member + ((array, index),)))
                    else:
                        pending.append((child, path, member))
            elif leaves is None or path in leaves:
                self.values.setdefault(path, []).append(leaf_value(node))
                self.members.setdefault(path, []).append(member)
                if member:
                    self.note_arrays(path, member)


def flatten(event: Mapping[str, Any], only: FieldPaths | None = None) -> FlatEvent:
    """Flatten an event (a JSON object) into its leaf fields; with ``only``, just the leaves at those paths.

    Any depth works: the walk recurses (the fast way, on the routing path) and starts over
    with an explicit stack if an event is too deep for Python's recursion limit. A depth
    check before every walk was the alternative; it would cost every event for the rare one.
    """
    state = _Walk(None, None) if only is None else _Walk(only.leaves, only.inner)
    wanted = state.wanted
    try:
        for key, child in event.items():
            if wanted is None or key in wanted:
                state.walk(child, key, ())
    except RecursionError:
        state = _Walk(state.leaves, state.inner)
        state.walk_iteratively(event)
    return FlatEvent(state.values, state.members, state.nested)
