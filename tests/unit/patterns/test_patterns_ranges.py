"""The numeric range table agrees with asking each range on its own, and the number fast path with Decimal."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from eventpipes.patterns import ranges
from eventpipes.patterns.model import Numeric
from eventpipes.patterns.ranges import RangeTable
from eventpipes.patterns.values import Num, NumberError, decimal_micros, to_num

# Few distinct bounds, so that ranges share bounds and numbers land on them often.
BOUNDS = st.integers(min_value=-5, max_value=5).map(lambda n: n * 1_000_000)
RANGES = st.builds(
    Numeric, lo=st.none() | BOUNDS, lo_open=st.booleans(), hi=st.none() | BOUNDS, hi_open=st.booleans()
)
NUMBERS = st.integers(min_value=-7_000_000, max_value=7_000_000) | BOUNDS


def _one_by_one(entries: tuple[tuple[Numeric, int], ...], micros: int) -> list[int]:
    return sorted(child for matcher, child in entries if matcher.contains(micros))


@settings(max_examples=300, deadline=None)
@given(matchers=st.lists(RANGES, max_size=12), numbers=st.lists(NUMBERS, min_size=1, max_size=20))
def test_range_table_agrees_with_each_range(matchers: list[Numeric], numbers: list[int]) -> None:
    entries = tuple((matcher, child) for child, matcher in enumerate(matchers))
    table = RangeTable(entries)
    for micros in numbers:
        out: list[int] = []
        table.targets(micros, out)
        assert sorted(out) == _one_by_one(entries, micros)


@settings(max_examples=100, deadline=None)
@given(matchers=st.lists(RANGES, min_size=2, max_size=12), numbers=st.lists(NUMBERS, min_size=1, max_size=10))
def test_range_table_past_its_size_limit_scans(matchers: list[Numeric], numbers: list[int]) -> None:
    everything = Numeric(None, False, None, False)  # two of these exceed a limit of 1 for sure
    entries = tuple((matcher, child) for child, matcher in enumerate([everything, everything, *matchers]))
    limit = ranges.MAX_ENTRIES
    ranges.MAX_ENTRIES = 1
    try:
        table = RangeTable(entries)
    finally:
        ranges.MAX_ENTRIES = limit
    assert table.scan == entries
    for micros in numbers:
        out: list[int] = []
        table.targets(micros, out)
        assert sorted(out) == _one_by_one(entries, micros)


def _decimal_num(value: float) -> Num:
    text = repr(value)
    try:
        return Num(decimal_micros(Decimal(text)), text)
    except NumberError:
        return Num(None, text)


@settings(max_examples=1_000, deadline=None)
@given(value=st.floats(allow_nan=False, allow_infinity=False) | st.floats(min_value=-6e9, max_value=6e9).map(
    lambda f: round(f, 3)))
def test_float_fast_path_agrees_with_decimal(value: float) -> None:
    fast, slow = to_num(value), _decimal_num(value)
    assert (fast.micros, fast.text, fast.key) == (slow.micros, slow.text, slow.key)


def test_small_int_nums_are_the_ones_made_afresh() -> None:
    for value in (-17, -16, 0, 1, 1023, 1024, 5_000_000_000, 5_000_000_001):
        expected = value * 1_000_000 if abs(value) <= 5_000_000_000 else None
        assert to_num(value) == Num(expected, str(value))
