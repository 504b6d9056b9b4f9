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
