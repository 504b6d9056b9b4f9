"""Fixtures of the control-plane unit tests."""

from __future__ import annotations

import pytest

from control_support import Local  # beside this file


@pytest.fixture
def plane() -> Local:
    return Local()
