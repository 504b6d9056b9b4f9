"""``eventpipes test-event-pattern``: AWS's output shape and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from eventpipes.cli.main import cli

EVENT = {
    "id": "1", "account": "123456789012", "source": "aws.ec2", "time": "2024-01-01T00:00:00Z",
    "region": "us-east-1", "detail-type": "State", "detail": {"state": "running"},
}


def _run(pattern: str, event: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["test-event-pattern", "--event-pattern", pattern, "--event", event])
    return result.exit_code, result.stdout, result.stderr


def test_prints_the_result_as_aws_does() -> None:
    code, out, _ = _run('{"detail": {"state": ["running"]}}', json.dumps(EVENT))
    assert code == 0 and json.loads(out) == {"Result": True}
    code, out, _ = _run('{"source": ["aws.s3"]}', json.dumps(EVENT))
    assert code == 0 and json.loads(out) == {"Result": False}


def test_reads_file_arguments(tmp_path: Path) -> None:
    (tmp_path / "p.json").write_text('{"source": ["aws.ec2"]}')
    (tmp_path / "e.json").write_text(json.dumps(EVENT))
    code, out, _ = _run(f"file://{tmp_path / 'p.json'}", f"file://{tmp_path / 'e.json'}")
    assert code == 0 and json.loads(out) == {"Result": True}


def test_an_invalid_pattern_exits_2_with_one_line() -> None:
    code, out, err = _run('{"source": "aws.ec2"}', json.dumps(EVENT))
    assert code == 2 and out == ""
    assert err.strip() == (
        'InvalidEventPatternException: Event pattern is not valid. Reason: "source" must be an object or an array'
        " (at source)"
    )
    code, _, err = _run("{nope", json.dumps(EVENT))
    assert code == 2 and err.startswith("InvalidEventPatternException:") and err.count("\n") == 1


def test_an_event_without_its_envelope_exits_2() -> None:
    code, _, err = _run('{"source": ["aws.ec2"]}', '{"source": "aws.ec2"}')
    assert code == 2
    assert err.startswith("ValidationException: Parameter Event is not valid.") and "id" in err
    for bad in ('"just a string"', "[1]", "{oops"):
        code, _, err = _run('{"source": ["aws.ec2"]}', bad)
        assert code == 2 and "Parameter Event is not valid." in err


def _nested(levels: int, leaf: object) -> object:
    for _ in range(levels):
        leaf = {"a": leaf}
    return leaf


def _deep_event(detail_depth: int) -> str:
    from eventpipes.patterns.jsondepth import dumps_compact

    return dumps_compact({**EVENT, "detail": _nested(detail_depth - 1, {"x": 5})})


def test_an_event_nested_1100_deep_gets_a_result(tmp_path: Path) -> None:
    (tmp_path / "e.json").write_text(_deep_event(1100))
    code, out, _ = _run('{"source": ["aws.ec2"]}', f"file://{tmp_path / 'e.json'}")
    assert code == 0 and json.loads(out) == {"Result": True}
    deep_path = "detail." + "a." * 1099 + "x"
    code, out, _ = _run(json.dumps({deep_path: [5]}), f"file://{tmp_path / 'e.json'}")
    assert code == 0 and json.loads(out) == {"Result": True}


def test_an_event_deeper_than_the_limit_exits_2_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "e.json").write_text(_deep_event(1101))
    code, out, err = _run('{"source": ["aws.ec2"]}', f"file://{tmp_path / 'e.json'}")
    assert code == 2 and out == ""
    assert err.startswith("ValidationException: Parameter Event is not valid. Reason: nested deeper than 1101 levels")
    assert err.count("\n") == 1


def test_a_pattern_nested_1100_deep_exits_2_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "p.json").write_text("{\"a\":" * 1100 + '["x"]' + "}" * 1100)
    (tmp_path / "q.json").write_text('{"a":' + "[" * 1101 + "]" * 1101 + "}")
    for name, reason in (("p.json", "at most 4096 characters"), ("q.json", "nested deeper than 1101 levels")):
        code, out, err = _run(f"file://{tmp_path / name}", json.dumps(EVENT))
        assert code == 2 and out == ""
        assert err.startswith("InvalidEventPatternException:") and reason in err and err.count("\n") == 1


def test_an_argument_file_that_is_not_utf8_exits_2(tmp_path: Path) -> None:
    (tmp_path / "e.json").write_bytes(b'{"source": "\xff\xfe"}')
    code, out, err = _run('{"source": ["aws.ec2"]}', f"file://{tmp_path / 'e.json'}")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("ValidationException:") and "UTF-8" in err
