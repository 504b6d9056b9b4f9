"""``eventpipes put-events --entries`` input that cannot be entries: one line on stderr, exit 2.

Each case is refused before any broker is contacted, so no Kafka is needed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from eventpipes.cli.main import cli


def put(argument: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["put-events", "--entries", argument])
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stderr


def test_an_entries_file_with_invalid_utf8_is_located(tmp_path: Path) -> None:
    path = tmp_path / "entries.json"
    path.write_bytes(b'[{"Source": "a",\n "DetailType": "b\xff\xfe", "Detail": "{}"}]')
    code, stderr = put(f"file://{path}")
    assert code == 2
    assert stderr.strip() == "ValidationException: --entries is not UTF-8: byte 0xff at line 2 column 18 (invalid start byte)"


def test_an_entries_file_nested_100000_deep_is_refused_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "entries.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    code, stderr = put(f"file://{path}")
    assert code == 2
    assert stderr.strip() == ("ValidationException: --entries is nested more than 1100 levels deep (line 1 column 1101); "
                              "PutEvents processes JSON up to 1100 levels")
    assert "Traceback" not in stderr


@pytest.mark.parametrize("text", ["[{", "not json"])
def test_entries_that_are_not_json_exit_2(text: str) -> None:
    code, stderr = put(text)
    assert code == 2 and stderr.startswith("ValidationException: --entries is not valid JSON")
