"""A test that needs Kafka must never pass by skipping: the suite's conftest fails the run."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"


def test_a_skipped_kafka_test_fails_the_run(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST.read_text())
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.kafka
        def test_needs_kafka():
            pytest.skip("no broker")

        def test_plain():
            pass
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-o", "markers=kafka: needs Kafka")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*1 test(s) that need Kafka were skipped*"])


def test_an_ordinary_skip_is_still_allowed(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST.read_text())
    pytester.makepyfile("import pytest\n\ndef test_other():\n    pytest.skip('not relevant here')\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "-o", "markers=kafka: needs Kafka")
    assert result.ret == pytest.ExitCode.OK
