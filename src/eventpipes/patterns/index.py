"""The value side of one machine state: which children a field's value leads to.

A :class:`ValueIndex` belongs to one (state, field path) pair and holds the match
expressions of every condition leaving that state on that path, each tagged with
the child state it leads to. Kinds that can be looked up are kept in
dictionaries, so their cost does not grow with the number of rules:

- exact values by key, ``equals-ignore-case`` by the lower-cased value;
- prefixes and suffixes (plain and ignore-case) by text, probing only the
  lengths that occur (a value of length n costs at most one probe per distinct
  prefix length, not one per rule);

the rest (numeric ranges, cidr, wildcards, every ``anything-but``, ``exists``)
are asked one by one. They sit behind the selective conditions of their rule
(see ``machine._rank``), so few of them are reached by any one event.

Indexes are copy-on-write: :meth:`owned` returns the index itself when the
current writer already owns it, else a copy (see the concurrency rule in
:mod:`eventpipes.patterns.machine`).
"""

from __future__ import annotations

from typing import Hashable

from eventpipes.patterns.model import EqualsIgnoreCase, Exact, Matcher, Prefix, Suffix
from eventpipes.patterns.values import FALSE_KEY, NULL_KEY, TRUE_KEY, Num, Value

_TABLES = ("exact", "eq_ic", "prefix", "suffix", "prefix_ic", "suffix_ic")
_LENGTHS = ("prefix", "suffix", "prefix_ic", "suffix_ic")


def _slot(matcher: Matcher) -> tuple[str, Hashable] | None:
    kind = type(matcher)
    if kind is Exact:
        return "exact", matcher.key  # type: ignore[union-attr]
    if kind is EqualsIgnoreCase:
        return "eq_ic", matcher.lowered  # type: ignore[union-attr]
    if kind is Prefix:
        return ("prefix_ic" if matcher.ignore_case else "prefix"), matcher.text  # type: ignore[union-attr]
    if kind is Suffix:
        return ("suffix_ic" if matcher.ignore_case else "suffix"), matcher.text  # type: ignore[union-attr]
    return None


class ValueIndex:
    """Value -> child state ids, for one state and one field path."""

    __slots__ = ("owner", "exact", "eq_ic", "prefix", "suffix", "prefix_ic", "suffix_ic", "lengths", "scanned")

    def __init__(self, owner: object) -> None:
        self.owner = owner
        self.exact: dict[Hashable, tuple[int, ...]] = {}
        self.eq_ic: dict[Hashable, tuple[int, ...]] = {}
        self.prefix: dict[Hashable, tuple[int, ...]] = {}
        self.suffix: dict[Hashable, tuple[int, ...]] = {}
        self.prefix_ic: dict[Hashable, tuple[int, ...]] = {}
        self.suffix_ic: dict[Hashable, tuple[int, ...]] = {}
        #: Distinct key lengths of each prefix/suffix table, ascending.
        self.lengths: dict[str, tuple[int, ...]] = {name: () for name in _LENGTHS}
        #: Matchers asked one by one, with their child id.
        self.scanned: tuple[tuple[Matcher, int], ...] = ()

    def owned(self, owner: object) -> "ValueIndex":
        """This index if ``owner`` owns it, else a copy that ``owner`` owns."""
        if self.owner is owner:
            return self
        copy = ValueIndex(owner)
        for name in _TABLES:
            setattr(copy, name, dict(getattr(self, name)))
        copy.lengths = dict(self.lengths)
        copy.scanned = self.scanned
        return copy

    def is_empty(self) -> bool:
        return not self.scanned and not any(getattr(self, name) for name in _TABLES)

    def add(self, child: int, matchers: frozenset[Matcher]) -> None:
        """Lead values that any of ``matchers`` accepts to ``child`` (owner only)."""
        for matcher in matchers:
            slot = _slot(matcher)
            if slot is None:
                self.scanned += ((matcher, child),)
                continue
            name, key = slot
            table = getattr(self, name)
            table[key] = table.get(key, ()) + (child,)
            if name in self.lengths:
                self._relength(name)

    def remove(self, child: int, matchers: frozenset[Matcher]) -> None:
        """Forget ``child`` (owner only)."""
        for matcher in matchers:
            slot = _slot(matcher)
            if slot is None:
                self.scanned = tuple(entry for entry in self.scanned if entry[1] != child)
                continue
            name, key = slot
            table = getattr(self, name)
            rest = tuple(c for c in table.get(key, ()) if c != child)
            if rest:
                table[key] = rest
            else:
                table.pop(key, None)
            if name in self.lengths:
                self._relength(name)

    def _relength(self, name: str) -> None:
        self.lengths[name] = tuple(sorted({len(key) for key in getattr(self, name)}))

    def targets(self, value: Value, out: list[int]) -> None:
        """Append the ids of every child that ``value`` leads to."""
        # The hot path of matching: one call per (state, path, value) reached.
        if type(value) is str:
            found = self.exact.get(value)
            if found:
                out.extend(found)
            if self.prefix:
                _probe_prefixes(self.prefix, self.lengths["prefix"], value, out)
            if self.suffix:
                _probe_suffixes(self.suffix, self.lengths["suffix"], value, out)
            if self.eq_ic or self.prefix_ic or self.suffix_ic:
                self._ignore_case_targets(value.lower(), out)
        else:
            if type(value) is Num:
                key: Hashable = value.key  # type: ignore[union-attr]
            else:
                key = TRUE_KEY if value is True else FALSE_KEY if value is False else NULL_KEY
            found = self.exact.get(key)
            if found:
                out.extend(found)
        for matcher, child in self.scanned:
            if matcher.matches(value):
                out.append(child)

    def _ignore_case_targets(self, lowered: str, out: list[int]) -> None:
        found = self.eq_ic.get(lowered)
        if found:
            out.extend(found)
        if self.prefix_ic:
            _probe_prefixes(self.prefix_ic, self.lengths["prefix_ic"], lowered, out)
        if self.suffix_ic:
            _probe_suffixes(self.suffix_ic, self.lengths["suffix_ic"], lowered, out)


def _probe_prefixes(
    table: dict[Hashable, tuple[int, ...]], lengths: tuple[int, ...], value: str, out: list[int]
) -> None:
    size = len(value)
    for length in lengths:
        if length > size:
            break
        found = table.get(value[:length])
        if found:
            out.extend(found)


def _probe_suffixes(
    table: dict[Hashable, tuple[int, ...]], lengths: tuple[int, ...], value: str, out: list[int]
) -> None:
    size = len(value)
    for length in lengths:
        if length > size:
            break
        found = table.get(value[size - length:])
        if found:
            out.extend(found)
