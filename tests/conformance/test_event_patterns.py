"""Every EventBridge pattern case recorded against AWS (see data/README.md for where they come from)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from eventpipes.patterns import InvalidEventPattern, Ruler, compile_pattern, matches

CASES_FILE = Path(__file__).parent / "data" / "event-patterns-aws-validated.jsonl"


def _load() -> list[dict[str, Any]]:
    lines = CASES_FILE.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


CASES = _load()


def test_the_whole_recorded_set_is_present() -> None:
    expected = [case["expected"] for case in CASES]
    assert (len(CASES), expected.count(True), expected.count(False), expected.count("invalid")) == (174, 78, 58, 38)


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_case(case: dict[str, Any]) -> None:
    if case["expected"] == "invalid":
        with pytest.raises(InvalidEventPattern) as info:
            matches(case["pattern"], case["event"])
        assert info.value.code == "InvalidEventPatternException"
        assert info.value.input_error is True
        assert info.value.reason in case["error"] or case["error"].endswith(info.value.reason)
    else:
        assert matches(case["pattern"], case["event"]) is case["expected"]
        # The same pattern given as JSON text must behave the same.
        assert compile_pattern(json.dumps(case["pattern"])).matches(case["event"]) is case["expected"]


def test_all_valid_cases_in_one_ruler() -> None:
    """One machine holding every valid recorded pattern answers each event as the patterns do alone."""
    valid = [case for case in CASES if case["expected"] != "invalid"]
    ruler = Ruler({case["name"]: case["pattern"] for case in valid})
    for case in valid:
        found = ruler.matches(case["event"])
        alone = {c["name"] for c in valid if compile_pattern(c["pattern"]).matches(case["event"])}
        assert found == alone, case["name"]
        assert (case["name"] in found) is case["expected"]
