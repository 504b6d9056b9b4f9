"""``eventpipes validate`` reports every problem of a file in one run, function targets included (issue 15)."""

from __future__ import annotations

import sys
from pathlib import Path

from click.testing import CliRunner

from eventpipes.cli.main import cli
from eventpipes.topology import TopologyError, load_text

FIVE_PROBLEMS = """\
EventBuses:
  - Name: orders
Rules:
  - Name: ranged
    EventBusName: orders
    EventPattern: {source: [shop]}
    Targets:
      - {Id: t, Topic: out, RetryPolicy: {MaximumRetryAttempts: 500}}
  - Name: lost
    EventBusName: nowhere
    EventPattern: {detail: {n: [{numeric: [">", "x"]}]}}
    Targets: [{Id: t, Topic: out}]
  - Name: functions
    EventPattern: {source: [shop]}
    Targets:
      - {Id: gone, Function: "eventpipes_no_such_module:handle"}
  - Name: templated
    EventPattern: {source: [shop]}
    Targets:
      - Id: t
        Topic: out
        InputTransformer: {InputPathsMap: {a: $.detail.a}, InputTemplate: '"<a> and <b>"'}
"""


def test_five_problems_across_rules_are_all_reported_in_file_order(tmp_path: Path) -> None:
    path = tmp_path / "five.yaml"
    path.write_text(FIVE_PROBLEMS)

    result = CliRunner().invoke(cli, ["validate", str(path)])

    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 5, result.stderr
    assert lines[0] == (f"{path}:8:29: Rules[0].Targets[0].RetryPolicy: Value '500' failed to satisfy constraint: "
                        "Member must have value less than or equal to 185 (RetryPolicy.MaximumRetryAttempts)")
    assert lines[1] == f"{path}:10:5: Rules[1].EventBusName: no bus named 'nowhere' under EventBuses"
    assert lines[2] == (f"{path}:11:33: Rules[1].EventPattern.detail.n[0]: Event pattern is not valid. "
                        "Reason: Value of > must be numeric (at detail.n[0])")
    assert lines[3] == (f"{path}:16:20: Rules[2].Targets[0].Function: cannot import module 'eventpipes_no_such_module': "
                        "ModuleNotFoundError: No module named 'eventpipes_no_such_module'")
    assert lines[4] == (f"{path}:22:60: Rules[3].Targets[0].InputTransformer.InputTemplate: "
                        "InputTemplate for target t contains invalid placeholder b.")
    assert "Traceback" not in result.output


def test_with_the_range_error_fixed_the_other_four_are_reported_the_same() -> None:
    fixed = FIVE_PROBLEMS.replace("MaximumRetryAttempts: 500", "MaximumRetryAttempts: 5")
    try:
        load_text(fixed, file="t.yaml", import_functions=True)
    except TopologyError as error:
        assert [problem.path for problem in error.problems] == [
            "Rules[1].EventBusName", "Rules[1].EventPattern.detail.n[0]", "Rules[2].Targets[0].Function",
            "Rules[3].Targets[0].InputTransformer.InputTemplate"]
    else:
        raise AssertionError("four problems went unreported")


def test_a_function_target_that_is_not_callable_is_reported() -> None:
    text = "Rules:\n  - Name: r\n    EventPattern: {source: [a]}\n    Targets: [{Id: f, Function: 'json:__doc__'}]\n"
    try:
        load_text(text, file="t.yaml", import_functions=True)
    except TopologyError as error:
        assert [str(p) for p in error.problems] == ["t.yaml:4:23: Rules[0].Targets[0].Function: 'json:__doc__' is not callable"]
    else:
        raise AssertionError("a value that cannot be called was accepted as a function target")


def test_a_bus_whose_declaration_is_invalid_still_counts_as_declared() -> None:
    text = "EventBuses:\n  - {Name: orders, Partitions: 0}\nRules:\n  - {Name: r, EventBusName: orders, EventPattern: {source: [a]}}\n"
    try:
        load_text(text, file="t.yaml", import_functions=True)
    except TopologyError as error:
        assert [p.path for p in error.problems] == ["EventBuses[0].Partitions"]
    else:
        raise AssertionError("Partitions: 0 was accepted")


def test_a_function_target_that_imports_is_valid() -> None:
    text = "Rules:\n  - Name: r\n    EventPattern: {source: [a]}\n    Targets: [{Id: f, Function: 'json:dumps'}]\n"
    assert load_text(text, import_functions=True).rules[0].targets[0].function == "json:dumps"


def test_a_module_that_raises_while_importing_is_reported_not_propagated(tmp_path: Path) -> None:
    (tmp_path / "eventpipes_test_broken_module.py").write_text("raise RuntimeError('boom at import')\n")
    sys.path.insert(0, str(tmp_path))
    try:
        text = ("Rules:\n  - Name: r\n    EventPattern: {source: [a]}\n"
                "    Targets: [{Id: f, Function: 'eventpipes_test_broken_module:go'}]\n")
        try:
            load_text(text, file="t.yaml", import_functions=True)
        except TopologyError as error:
            assert [str(p) for p in error.problems] == [
                "t.yaml:4:23: Rules[0].Targets[0].Function: cannot import module 'eventpipes_test_broken_module': "
                "RuntimeError: boom at import"]
        else:
            raise AssertionError("a module that cannot import was accepted")
    finally:
        sys.path.remove(str(tmp_path))


def test_loading_for_other_commands_does_not_import_function_targets() -> None:
    # status and pipe commands read topologies where the targets' modules may not be importable
    text = "Rules:\n  - Name: r\n    EventPattern: {source: [a]}\n    Targets: [{Id: f, Function: 'eventpipes_no_such_module:go'}]\n"
    assert load_text(text).rules[0].targets[0].function == "eventpipes_no_such_module:go"
