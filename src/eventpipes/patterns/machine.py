"""Many rules in one machine: add, remove and match them all at once.

Concurrency rule: any number of threads may call :meth:`Machine.matches` at any
time, including while another thread adds or removes rules, without locks.
Writers (:meth:`Machine.update`) take one lock, so changes apply one batch at a
time. This works because a published machine is never modified: a writer copies
each state it touches (once per batch; states it created itself in the same
batch it changes in place), builds a new root, and publishes it with a single
reference assignment. A reader takes the root once and walks a snapshot that
stays consistent to the end of its call: it sees a batch entirely or not at all.
(A reader/writer lock was the alternative; it would make every match pay for
the lock and let a slow writer stall the router.)

Shape: a tree of :class:`NameState` objects. Each rule's sub-rule (one ``$or``
branch) is a sequence of conditions on field paths, ordered most selective first
(:func:`_rank`); rules that start with the same conditions share those states.
A state's :class:`~eventpipes.patterns.index.ValueIndex` per path maps an event
value to the child states it leads to, so matching an event costs what its
fields select, not what the rule count is. Reaching a state that ends a
sub-rule reports the rule's name.

Arrays: a field inside array element i and another inside element j of the same
array never match together (event-ruler's "array consistency"). The walk
carries the array positions taken so far and refuses a field that contradicts
them. ``{"exists": false}`` is checked against the positions of the whole match,
once the sub-rule's other fields are chosen.
"""

from __future__ import annotations

import itertools
import threading
from typing import Iterable, Mapping

from eventpipes.patterns import native
from eventpipes.patterns.flatten import FieldPaths, FlatEvent, Membership
from eventpipes.patterns.index import ValueIndex
from eventpipes.patterns.values import Value, exact_key
from eventpipes.patterns.model import (
    AnythingBut, AnythingButIgnoreCase, AnythingButPrefix, AnythingButSuffix, AnythingButWildcard,
    Condition, EqualsIgnoreCase, Exact, Exists, SubRule,
)

_SELECTIVE = (Exact, EqualsIgnoreCase)
_BROAD = (Exists, AnythingBut, AnythingButIgnoreCase, AnythingButPrefix, AnythingButSuffix, AnythingButWildcard)
#: Among exact conditions, these envelope fields go first, in this order: nearly
#: every rule names a source, most a detail-type, and they split a bus's rules
#: (and events) the finest, so rules of one source share one branch. Sorting
#: exact paths alphabetically instead would put ``detail-type`` (a handful of
#: values) and ``detail.*`` before ``source``, and every event would walk
#: branches holding the rules of all sources.
_FIRST_PATHS = {"source": 0, "detail-type": 1, "account": 2, "region": 3}


def _rank(condition: Condition) -> tuple[int, int, str]:
    # Conditions that let few events through go first, so that the broad ones
    # (anything-but, exists) are only tried on events that already got far.
    # Order does not change what matches: a sub-rule is a conjunction.
    if condition.absent:
        return (4 if not condition.matchers else 3), 0, condition.path
    if all(isinstance(m, _SELECTIVE) for m in condition.matchers):
        return 0, _FIRST_PATHS.get(condition.path, len(_FIRST_PATHS)), condition.path
    if any(isinstance(m, _BROAD) for m in condition.matchers):
        return 2, 0, condition.path
    return 1, 0, condition.path


def ordered(sub_rule: SubRule) -> SubRule:
    """The sub-rule's conditions in the order the machine walks them."""
    return tuple(sorted(sub_rule, key=_rank))


#: What an empty ``rules`` / ``absent`` holds: one shared object, so that checking
#: them on a state reads memory every walk touches anyway (see ``_find``).
_NO_RULES: frozenset[str] = frozenset()
_NO_ABSENT: dict[str, tuple[int, ...]] = {}  # never changed: states replace ``absent``, never edit it


class NameState:
    """One state: the rules that end here and the conditions that lead on."""

    __slots__ = ("owner", "rules", "paths", "absent", "children", "keys", "lowered")

    def __init__(self, owner: object) -> None:
        self.owner = owner
        #: Names of the rules with a sub-rule ending here.
        self.rules: frozenset[str] = _NO_RULES
        #: Field path -> index of values leading to children.
        self.paths: dict[str, ValueIndex] = {}
        #: Field path -> children reached when the event has no value there.
        self.absent: dict[str, tuple[int, ...]] = _NO_ABSENT
        #: Child id -> child state.
        self.children: dict[int, NameState] = {}
        #: Condition -> the child id it leads to.
        self.keys: dict[Condition, int] = {}
        #: This state (and all below it) as the C walk reads it; set once, before the state
        #: is published, and never for a copy (see :mod:`eventpipes.patterns.native`).
        self.lowered: native.Lowered | None = None

    def owned(self, owner: object) -> "NameState":
        """This state if ``owner`` owns it, else a shallow copy that ``owner`` owns."""
        if self.owner is owner:
            return self
        copy = NameState(owner)
        copy.rules = self.rules
        copy.paths = dict(self.paths)
        copy.absent = self.absent
        copy.children = dict(self.children)
        copy.keys = dict(self.keys)
        return copy

    def is_empty(self) -> bool:
        return not self.rules and not self.children


def _add(root: NameState, steps: SubRule, name: str, owner: object, ids: Iterable[int]) -> NameState:
    """``root`` (or the copy of it ``owner`` owns) with one sub-rule's path added, ending in ``name``.

    A loop down the path, not a recursion: a 4096-character pattern can hold some 460
    conditions in one sub-rule, one level each, and must compile from any caller's stack.
    """
    top = root.owned(owner)
    state = top
    for condition in steps:
        child_id = state.keys.get(condition)
        if child_id is None:
            child_id = next(iter(ids))
            state.keys[condition] = child_id
            child = NameState(owner)
            if condition.matchers:
                current = state.paths.get(condition.path)
                index = current.owned(owner) if current is not None else ValueIndex(owner)
                index.add(child_id, condition.matchers)
                state.paths[condition.path] = index
            if condition.absent:
                state.absent = {**state.absent, condition.path: state.absent.get(condition.path, ()) + (child_id,)}
        else:
            child = state.children[child_id].owned(owner)
        state.children[child_id] = child
        state = child
    state.rules = state.rules | {name}
    return top


def _remove(root: NameState, steps: SubRule, name: str, owner: object) -> NameState:
    """``root`` without ``name`` at the end of one sub-rule's path; ``root`` itself if it has none there.

    States left empty are pruned on the way back up (a loop, as in :func:`_add`).
    """
    path: list[tuple[NameState, Condition, int]] = []
    state = root
    for condition in steps:
        child_id = state.keys.get(condition)
        if child_id is None:
            return root
        path.append((state, condition, child_id))
        state = state.children[child_id]
    if name not in state.rules:
        return root
    changed = state.owned(owner)
    changed.rules = (changed.rules - {name}) or _NO_RULES
    for parent, condition, child_id in reversed(path):
        parent = parent.owned(owner)
        if not changed.is_empty():
            parent.children[child_id] = changed
        else:
            _unlink(parent, condition, child_id, owner)
        changed = parent
    return changed


def _unlink(state: NameState, condition: Condition, child_id: int, owner: object) -> None:
    del state.children[child_id]
    del state.keys[condition]
    if condition.matchers:
        index = state.paths[condition.path].owned(owner)
        index.remove(child_id, condition.matchers)
        if index.is_empty():
            del state.paths[condition.path]
        else:
            state.paths[condition.path] = index
    if condition.absent:
        rest = tuple(c for c in state.absent[condition.path] if c != child_id)
        absent = {path: ids for path, ids in state.absent.items() if path != condition.path}
        if rest:
            absent[condition.path] = rest
        state.absent = absent or _NO_ABSENT


def _field_paths(paths: Iterable[str]) -> FieldPaths:
    found = FieldPaths.of(paths)
    return FieldPaths(found.leaves, found.inner, native.schema(found))


class Machine:
    """All rules of one rule set, compiled together. See the module doc for the concurrency rule."""

    def __init__(self) -> None:
        self._root = NameState(None)
        if native.AVAILABLE:
            native.lower(self._root)
        self._view: tuple[NameState, FieldPaths] = (self._root, _field_paths(()))
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._sub_rules: dict[str, tuple[SubRule, ...]] = {}

    def names(self) -> list[str]:
        """The names of the rules in the machine."""
        return list(self._sub_rules)

    def update(self, add: Mapping[str, tuple[SubRule, ...]] | None = None, remove: Iterable[str] = ()) -> None:
        """Remove rules by name, then add (or replace) rules, as one change readers see at once."""
        with self._lock:
            owner = object()  # this batch's mark on the states it may change in place
            root = self._root
            names = list(remove) + list(add or {})
            for name in names:
                for sub_rule in self._sub_rules.pop(name, ()):
                    root = _remove(root, ordered(sub_rule), name, owner)
            for name, sub_rules in (add or {}).items():
                for sub_rule in sub_rules:
                    root = _add(root, ordered(sub_rule), name, owner, self._ids)
                self._sub_rules[name] = sub_rules
            if native.AVAILABLE:
                native.lower(root)
            self._root = root
            paths = _field_paths(c.path for subs in self._sub_rules.values() for sub in subs for c in sub)
            self._view = (root, paths)  # one assignment: readers see the states and their paths together

    @property
    def view(self) -> tuple[NameState, FieldPaths]:
        """The current states and the field paths their conditions read, as one snapshot."""
        return self._view

    def matches(self, event: FlatEvent, root: NameState | None = None) -> set[str]:
        """The names of every rule the flattened event matches (in ``root``, a snapshot from ``view``, if given)."""
        if root is None:
            root = self._root  # one snapshot for the whole call
        if root.lowered is not None:
            return native.find(root.lowered, event)  # (C) both walks below, on the lowered states
        if event.has_arrays:
            return _find_consistent(root, event)
        return _find(root, event)


def _find(root: NameState, event: FlatEvent) -> set[str]:
    # The states form a tree (a child id belongs to one parent, and each state is
    # reached at most once), so only the children one state reaches need de-duplicating,
    # not every state seen: no per-event set of visited ids.
    values = event.values
    found: set[str] = set()
    stack = [root]
    buffer: list[int] = []
    while stack:
        state = stack.pop()
        if state.rules:
            found |= state.rules
        paths = state.paths
        if len(paths) <= len(values):
            for path, index in paths.items():
                at_path = values.get(path)
                if at_path:
                    _targets(index, at_path, buffer)
        else:
            for path, at_path in values.items():
                index = paths.get(path)  # type: ignore[assignment]
                if index is not None:
                    _targets(index, at_path, buffer)
        if state.absent:
            for path, child_ids in state.absent.items():
                if path not in values:
                    buffer.extend(child_ids)
        if buffer:
            children = state.children
            for at, child_id in enumerate(buffer):
                # A few ids at most: buffer.index finds repeats without a set per state.
                if at == 0 or buffer.index(child_id) == at:
                    stack.append(children[child_id])
            buffer.clear()
    return found


def _targets(index: ValueIndex, at_path: list[Value], buffer: list[int]) -> None:
    plain = index.plain
    if plain is None:
        for value in at_path:
            index.targets(value, buffer)
        return
    # Only exact entries (most indexes): one dictionary lookup per value, inline.
    for value in at_path:
        found = plain.get(value if type(value) is str else exact_key(value))
        if found:
            buffer.extend(found)


def merge(taken: Membership, more: Membership) -> Membership | None:
    """The array positions of both, or None if they disagree on an element of one array."""
    if not more:
        return taken
    if not taken:
        return more
    positions = dict(taken)
    for array, element in more:
        current = positions.setdefault(array, element)
        if current != element:
            return None
    return tuple(sorted(positions.items()))


def _absences_hold(paths: tuple[str, ...], taken: Membership, event: FlatEvent) -> bool:
    return not any(merge(taken, m) is not None for path in paths for m in event.members[path])


def _find_consistent(root: NameState, event: FlatEvent) -> set[str]:
    values, members = event.values, event.members
    found: set[str] = set()
    Item = tuple[NameState, Membership, tuple[str, ...]]
    stack: list[Item] = [(root, (), ())]
    seen: set[tuple[int, Membership, tuple[str, ...]]] = set()
    buffer: list[int] = []
    while stack:
        state, taken, pending = stack.pop()
        if state.rules and not state.rules <= found and _absences_hold(pending, taken, event):
            found |= state.rules
        children = state.children
        for path, index in state.paths.items():
            at_path = values.get(path)
            if not at_path:
                continue
            plain = index.plain
            for value, member in zip(at_path, members[path]):
                joined = merge(taken, member)
                if joined is None:
                    continue
                if plain is None:
                    index.targets(value, buffer)
                else:
                    buffer.extend(plain.get(value if type(value) is str else exact_key(value), ()))
                for child_id in buffer:
                    key = (child_id, joined, pending)
                    if key not in seen:
                        seen.add(key)
                        stack.append((children[child_id], joined, pending))
                buffer.clear()
        if state.absent:
            for path, child_ids in state.absent.items():
                present = members.get(path)
                if not present:
                    more = pending
                elif all(present):  # every value there sits in some array element: maybe avoidable
                    more = pending + (path,)
                else:
                    continue
                for child_id in child_ids:
                    key = (child_id, taken, more)
                    if key not in seen:
                        seen.add(key)
                        stack.append((children[child_id], taken, more))
    return found
