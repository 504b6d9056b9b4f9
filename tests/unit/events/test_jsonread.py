"""``jsonread.loads`` gives ``json.loads``' value, or its exception, for every text."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventpipes.events import jsonread

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
documents = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
                         max_leaves=20)


def outcome(loads: Any, text: bytes | str) -> tuple[str, Any]:
    try:
        value = loads(text)
    except Exception as error:  # the exception's type and message are part of what must agree
        return type(error).__name__, str(error)
    return "value", json.dumps(value, sort_keys=True, allow_nan=True)  # NaN != NaN: compare the text


@given(documents, st.booleans())
def test_every_json_document_reads_as_the_standard_library_reads_it(document: Any, ascii_only: bool) -> None:
    text = json.dumps(document, ensure_ascii=ascii_only)
    assert outcome(jsonread.loads, text.encode()) == outcome(json.loads, text.encode())


@given(st.binary(max_size=64))
def test_any_bytes_read_or_fail_as_the_standard_library_does(data: bytes) -> None:
    assert outcome(jsonread.loads, data) == outcome(json.loads, data)


@pytest.mark.parametrize("text", [
    b'{"a": NaN, "b": Infinity, "c": -Infinity}',  # orjson refuses what json.loads takes
    b'"\\ud800"',  # a lone surrogate
    b'123456789012345678901234567890',  # beyond 64 bits
    b"[" * 1_050 + b"]" * 1_050,  # deeper than orjson reads, as deep as json.loads reads here
    '{"a": 1}'.encode("utf-16"),  # json.loads detects UTF-16
    b'{"a": 1,}', b"\xff", b"", b"{} x",  # errors: json.loads' own
    b'{"a": 1, "a": 2}',  # the last duplicate wins in both
    b'1e400', b'-0', b'0.1', b'1E2',
])
def test_what_orjson_refuses_or_reads_differently_is_read_by_the_standard_library(text: bytes) -> None:
    assert outcome(jsonread.loads, text) == outcome(json.loads, text)
