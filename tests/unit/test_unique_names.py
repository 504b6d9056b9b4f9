"""unique_name: a test run cleans up only the topics it made itself."""

from __future__ import annotations

import subprocess
import sys

from eventpipes.testing import made_by_this_run, unique_name


def test_names_made_here_are_recognised() -> None:
    name = unique_name("orders")
    assert made_by_this_run(name)
    assert made_by_this_run(f"eventpipes.bus.{name}")
    assert made_by_this_run(f"eventpipes.target.{name}.rule.t1")


def test_names_from_another_process_are_not() -> None:
    # Another test run or a benchmark sharing the broker makes names with its own token.
    other = subprocess.run([sys.executable, "-c", "from eventpipes.testing import unique_name; print(unique_name('orders'))"],
                           capture_output=True, text=True, check=True).stdout.strip()
    assert other.startswith("orders-")
    assert not made_by_this_run(other)
    assert not made_by_this_run("orders")
    assert not made_by_this_run(unique_name("orders") + "0")  # a longer hex run is not a unique_name suffix
