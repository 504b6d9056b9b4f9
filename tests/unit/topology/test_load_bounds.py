"""Hostile topology files fail fast with a located problem (issue 15): binary garbage,
deep nesting, JSON text nested deep in a value, and YAML alias bombs."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from eventpipes.topology import TopologyError, load_file, load_text
from eventpipes.topology.yamlguard import MAX_ALIAS_EXPANSION, MAX_NESTING

#: 542 bytes in the report; the same shape: each level nine aliases of the one before.
BOMB = """Rules:
  - Name: r
    EventPattern:
      a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
      b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
      c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
      d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
      e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
      f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
      g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
      h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
      i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def problems(text: str) -> list[str]:
    with pytest.raises(TopologyError) as caught:
        load_text(text, file="t.yaml")
    return [str(problem) for problem in caught.value.problems]


def test_an_alias_bomb_in_an_event_pattern_is_refused_at_the_alias_that_goes_past_the_bound() -> None:
    started = time.perf_counter()
    assert problems(BOMB) == [f"t.yaml:8:38: alias *d takes alias expansion past {MAX_ALIAS_EXPANSION} "
                              "nodes and characters; use fewer aliases or write the values out"]
    assert time.perf_counter() - started < 2  # main spent 15 s and 464 MB expanding it


def test_a_long_string_aliased_many_times_counts_its_characters() -> None:
    long = "x" * 10_000
    text = f"Rules:\n  - Name: r\n    Description: &d {long}\n    EventPattern: {{source: [{', '.join(['*d'] * 30)}]}}\n"
    assert "alias *d takes alias expansion past" in problems(text)[0]


def test_aliases_that_share_a_block_between_rules_still_load() -> None:
    text = """Rules:
  - Name: a
    EventPattern: &pattern {source: [shop]}
    Targets: &targets
      - {Id: t, Topic: out, RetryPolicy: {MaximumRetryAttempts: 3}}
  - Name: b
    EventPattern: *pattern
    Targets: *targets
"""
    topology = load_text(text)
    assert [rule.targets[0].retry_policy.maximum_retry_attempts for rule in topology.rules] == [3, 3]


def test_flow_nesting_10000_deep_is_refused_quickly_and_located() -> None:
    started = time.perf_counter()
    text = "Rules:\n  - Name: r\n    EventPattern: " + "[" * 10_000 + "]" * 10_000 + "\n"
    # levels: the document 1, Rules 2, the rule 3, then the pattern's brackets from column 19
    assert problems(text) == [f"t.yaml:3:{19 + MAX_NESTING - 3}: nested more than {MAX_NESTING} levels deep; "
                              f"a topology may nest at most {MAX_NESTING}"]
    assert time.perf_counter() - started < 5  # parsing all of it took 36 s


def test_block_nesting_past_the_bound_is_refused() -> None:
    text = "".join(" " * level + "k:\n" for level in range(MAX_NESTING + 5))
    assert "nested more than 100 levels deep" in problems(text)[0]


def test_json_text_nested_deep_in_an_event_pattern_string_is_refused() -> None:
    text = "Rules:\n  - Name: r\n    EventPattern: '" + "[" * 10_000 + "]" * 10_000 + "'\n"
    assert problems(text) == ["t.yaml:3:19: JSON text nested more than 100 levels deep; a topology may nest at most 100"]


def test_a_pattern_within_the_bound_loads() -> None:
    depth = MAX_NESTING - 4  # document, Rules, rule, then the pattern's mappings and its array
    pattern = '{"a": ' * depth + '["x"]' + "}" * depth
    assert load_text(f"Rules:\n  - Name: r\n    EventPattern: {pattern}\n").rules[0].name == "r"
    assert load_text(f"Rules:\n  - Name: r\n    EventPattern: '{pattern}'\n").rules[0].name == "r"


def test_a_file_that_is_not_utf8_is_located(tmp_path: Path) -> None:
    path = tmp_path / "garbage.yaml"
    path.write_bytes(b"Rules:\n  - Name: r\xff\n")
    with pytest.raises(TopologyError) as caught:
        load_file(path)
    assert [str(p) for p in caught.value.problems] == [f"{path}:2:12: not UTF-8 text: byte 0xff (invalid start byte)"]


def test_characters_yaml_refuses_are_located() -> None:
    assert problems("a: 1\nb: \x01\n") == ["t.yaml:2:4: not valid YAML: character U+0001 is not allowed "
                                           "(special characters are not allowed)"]


def test_random_binary_files_give_a_topology_error_never_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "random.yaml"
    rng = random.Random(15)
    for _ in range(100):
        data = rng.randbytes(400)
        for candidate in (data, bytes(b for b in data if b < 128)):
            path.write_bytes(candidate)
            try:
                load_file(path)
            except TopologyError as error:
                assert error.problems and all(p.file == str(path) for p in error.problems)
