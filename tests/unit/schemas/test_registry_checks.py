"""The registry's door checks: subjects and schema depth, without a server."""

from __future__ import annotations

import pytest

from eventpipes.schemas.registry import errors
from eventpipes.schemas.registry.checks import MAX_SCHEMA_DEPTH, check_schema_depth, check_subject


@pytest.mark.parametrize("subject", ["orders-value", "a..b", "ns/orders", ":.ctx:orders", "x.y", "...", "é-ü", "a b"])
def test_ordinary_subjects_pass(subject: str) -> None:
    check_subject(subject)


@pytest.mark.parametrize("subject", ["", "..", ".", "../x", "x/..", "a/./b", "a\\..\\b", "a\nb", "a\rb", "a\x00b", "a\x7fb", "\x1b[31m"])
def test_bad_subjects_are_42208(subject: str) -> None:
    with pytest.raises(errors.InvalidSubject) as caught:
        check_subject(subject)
    assert (caught.value.error_code, caught.value.http_status) == (42208, 422)
    assert all(c.isprintable() for c in caught.value.message)


def test_depth_counts_brackets_outside_strings_only() -> None:
    check_schema_depth("[" * MAX_SCHEMA_DEPTH + "]" * MAX_SCHEMA_DEPTH)
    check_schema_depth('{"doc": "' + "[{" * 10_000 + '\\"' + '"}')
    with pytest.raises(errors.InvalidSchemaError) as caught:
        check_schema_depth("[" * (MAX_SCHEMA_DEPTH + 1))
    assert (caught.value.error_code, caught.value.http_status) == (42201, 422)


def test_a_million_levels_fail_fast_without_recursion() -> None:
    with pytest.raises(errors.InvalidSchemaError):
        check_schema_depth("[" * 1_000_000)
