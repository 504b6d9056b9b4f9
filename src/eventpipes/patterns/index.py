"""The value side of one machine state: which children a field's value leads to.

A :class:`ValueIndex` belongs to one (state, field path) pair and holds the match
expressions of every condition leaving that state on that path, each tagged with
the child state it leads to. Kinds that can be looked up are kept in
dictionaries, so their cost does not grow with the number of rules:

- exact values by key, ``equals-ignore-case`` by the lower-cased value;
- prefixes and suffixes (plain and ignore-case) by text, probing only the
  lengths that occur (a value of length n costs at most one probe per distinct
  prefix length, not one per rule);

- numeric ranges in a :class:`~eventpipes.patterns.ranges.RangeTable`, built
  on the first lookup after a change (one binary search per number);

the rest (cidr, wildcards, every ``anything-but``, ``exists``) are asked one by one. They sit behind the selective conditions of their rule
(see ``machine._rank``), so few of them are reached by any one event.

Indexes are copy-on-write: :meth:`owned` returns the index itself when the
current writer already owns it, else a copy (see the concurrency rule in
:mod:`eventpipes.patterns.machine`).
"""

from __future__ import annotations

from typing import Hashable

from eventpipes.patterns.model import EqualsIgnoreCase, Exact, Matcher, Numeric, Prefix, Suffix
from eventpipes.patterns.ranges import RangeTable
from eventpipes.patterns.values import FALSE_KEY, NULL_KEY, TRUE_KEY, Num, Value

#: Key -> child ids.
Table = dict[Hashable, tuple[int, ...]]

_TABLES = ("exact", "eq_ic", "prefix", "suffix", "prefix_ic", "suffix_ic")
_LENGTHS = ("prefix", "suffix", "prefix_ic", "suffix_ic")
_NO_LENGTHS: dict[str, tuple[int, ...]] = {name: () for name in _LENGTHS}  # shared, never changed


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

    __slots__ = (
        "owner", "exact", "eq_ic", "prefix", "suffix", "prefix_ic", "suffix_ic", "lengths", "scanned",
        "numeric", "range_table", "plain",
    )

    def __init__(self, owner: object) -> None:
        self.owner = owner
        # A table is None while empty: matching an event walks states scattered over a
        # large heap, and at 10,000 rules its time goes mostly to cache misses, so an
        # empty table must cost a look at this object's own slot, not at a dict of its own.
        self.exact: Table | None = None
        self.eq_ic: Table | None = None
        self.prefix: Table | None = None
        self.suffix: Table | None = None
        self.prefix_ic: Table | None = None
        self.suffix_ic: Table | None = None
        #: Distinct key lengths of each prefix/suffix table, ascending.
        self.lengths: dict[str, tuple[int, ...]] = _NO_LENGTHS
        #: Matchers asked one by one, with their child id.
        self.scanned: tuple[tuple[Matcher, int], ...] = ()
        #: Numeric range matchers, with their child id.
        self.numeric: tuple[tuple[Numeric, int], ...] = ()
        #: ``numeric`` as a lookup table; None until the first lookup after a change. Readers
        #: may fill it in on a published index: it is derived, and assigned in one step.
        self.range_table: RangeTable | None = None
        #: ``exact`` when it holds every entry (the machine then looks values up itself,
        #: without calling :meth:`targets`), else None.
        self.plain: Table | None = None

    def owned(self, owner: object) -> "ValueIndex":
        """This index if ``owner`` owns it, else a copy that ``owner`` owns."""
        if self.owner is owner:
            return self
        copy = ValueIndex(owner)
        for name in _TABLES:
            table = getattr(self, name)
            setattr(copy, name, None if table is None else dict(table))
        copy.lengths = self.lengths  # replaced, never changed in place
        copy.scanned = self.scanned
        copy.numeric = self.numeric
        copy.range_table = self.range_table
        copy._replain()
        return copy

    def is_empty(self) -> bool:
        return not self.scanned and not self.numeric and not any(getattr(self, name) for name in _TABLES)

    def add(self, child: int, matchers: frozenset[Matcher]) -> None:
        """Lead values that any of ``matchers`` accepts to ``child`` (owner only)."""
        for matcher in matchers:
            slot = _slot(matcher)
            if type(matcher) is Numeric:
                self.numeric += ((matcher, child),)
                self.range_table = None
            elif slot is None:
                self.scanned += ((matcher, child),)
            else:
                name, key = slot
                table = getattr(self, name)
                if table is None:
                    table = {}
                    setattr(self, name, table)
                table[key] = table.get(key, ()) + (child,)
                if name in self.lengths:
                    self._relength(name)
        self._replain()

    def remove(self, child: int, matchers: frozenset[Matcher]) -> None:
        """Forget ``child`` (owner only)."""
        for matcher in matchers:
            slot = _slot(matcher)
            if type(matcher) is Numeric:
                self.numeric = tuple(entry for entry in self.numeric if entry[1] != child)
                self.range_table = None
            elif slot is None:
                self.scanned = tuple(entry for entry in self.scanned if entry[1] != child)
            else:
                name, key = slot
                table = getattr(self, name)
                if table is None:
                    continue
                rest = tuple(c for c in table.get(key, ()) if c != child)
                if rest:
                    table[key] = rest
                else:
                    table.pop(key, None)
                    if not table:
                        setattr(self, name, None)
                if name in self.lengths:
                    self._relength(name)
        self._replain()

    def _replain(self) -> None:
        others = self.scanned or self.numeric or any(getattr(self, name) for name in _TABLES if name != "exact")
        self.plain = None if others else self.exact  # (None too when there is no entry at all)

    def _relength(self, name: str) -> None:
        table = getattr(self, name)
        self.lengths = {**self.lengths, name: tuple(sorted({len(key) for key in table or ()}))}

    def targets(self, value: Value, out: list[int]) -> None:
        """Append the ids of every child that ``value`` leads to."""
        # The hot path of matching: one call per (state, path, value) reached.
        if type(value) is str:
            if self.exact is not None:
                found = self.exact.get(value)
                if found:
                    out.extend(found)
            if self.prefix is not None:
                _probe_prefixes(self.prefix, self.lengths["prefix"], value, out)
            if self.suffix is not None:
                _probe_suffixes(self.suffix, self.lengths["suffix"], value, out)
            if self.eq_ic is not None or self.prefix_ic is not None or self.suffix_ic is not None:
                self._ignore_case_targets(value.lower(), out)
        else:
            if self.exact is not None:
                if type(value) is Num:
                    key: Hashable = value.key  # type: ignore[union-attr]
                else:
                    key = TRUE_KEY if value is True else FALSE_KEY if value is False else NULL_KEY
                found = self.exact.get(key)
                if found:
                    out.extend(found)
            if self.numeric and type(value) is Num and value.micros is not None:  # type: ignore[union-attr]
                table = self.range_table
                if table is None:
                    table = self.range_table = RangeTable(self.numeric)
                table.targets(value.micros, out)  # type: ignore[union-attr]
        for matcher, child in self.scanned:
            if matcher.matches(value):
                out.append(child)

    def _ignore_case_targets(self, lowered: str, out: list[int]) -> None:
        if self.eq_ic is not None:
            found = self.eq_ic.get(lowered)
            if found:
                out.extend(found)
        if self.prefix_ic is not None:
            _probe_prefixes(self.prefix_ic, self.lengths["prefix_ic"], lowered, out)
        if self.suffix_ic is not None:
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
