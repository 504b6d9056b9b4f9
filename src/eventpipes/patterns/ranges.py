"""Numeric ranges looked up by value: which of many ``{"numeric": [...]}`` matchers hold a number.

The bounds of all ranges cut the number line into regions: each bound on its own
and the open stretch between two neighbouring bounds. Every number in one region
satisfies the same ranges, so the table keeps, per region, the child ids of the
ranges covering it, and a lookup is one binary search instead of asking every
range in turn (:meth:`RangeTable.targets`).

Nested ranges (``> 1``, ``> 2``, ... ``> k``) make that table grow as k squared,
so past :data:`MAX_ENTRIES` the table keeps the ranges and asks them one by one,
as the index did before.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Final

from eventpipes.patterns.model import Numeric

#: Most child ids the regions may hold together. 4,096 covers 45 ranges in the
#: worst (fully nested) case and any number of disjoint ones (each range then
#: spans about 3 regions); a state with more overlapping ranges on one path is
#: rare, and scanning them is what happened before this table existed.
MAX_ENTRIES: Final = 4_096


class RangeTable:
    """Numeric matchers with their child ids, looked up by value (immutable once built)."""

    __slots__ = ("bounds", "regions", "scan")

    def __init__(self, ranges: tuple[tuple[Numeric, int], ...]) -> None:
        #: Distinct finite bounds, ascending; region 2i+1 is ``bounds[i]`` itself and
        #: region 2i the open stretch just below it (the last region is above all).
        self.bounds: list[int] = sorted({b for m, _ in ranges for b in (m.lo, m.hi) if b is not None})
        #: Region -> child ids of the ranges covering it (empty when ``scan`` is used).
        self.regions: list[tuple[int, ...]] = []
        #: The ranges themselves, when the regions would exceed :data:`MAX_ENTRIES`.
        self.scan: tuple[tuple[Numeric, int], ...] = ()
        regions = _regions(ranges, self.bounds)
        if regions is None:
            self.scan = ranges
        else:
            self.regions = regions

    def targets(self, micros: int, out: list[int]) -> None:
        """Append the child id of every range that holds ``micros`` (a number in millionths)."""
        if self.scan:
            for matcher, child in self.scan:
                if matcher.contains(micros):
                    out.append(child)
            return
        bounds = self.bounds
        at = bisect_left(bounds, micros)
        found = self.regions[2 * at + 1 if at < len(bounds) and bounds[at] == micros else 2 * at]
        if found:
            out.extend(found)


def _regions(ranges: tuple[tuple[Numeric, int], ...], bounds: list[int]) -> list[tuple[int, ...]] | None:
    position = {bound: i for i, bound in enumerate(bounds)}
    last_region = 2 * len(bounds)
    regions: list[list[int]] = [[] for _ in range(last_region + 1)]
    entries = 0
    for matcher, child in ranges:
        first = 0 if matcher.lo is None else 2 * position[matcher.lo] + (2 if matcher.lo_open else 1)
        last = last_region if matcher.hi is None else 2 * position[matcher.hi] + (0 if matcher.hi_open else 1)
        entries += max(0, last - first + 1)
        if entries > MAX_ENTRIES:
            return None
        for region in range(first, last + 1):
            regions[region].append(child)
    return [tuple(children) for children in regions]
