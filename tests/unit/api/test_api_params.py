"""Request members read as AWS's framework reads them, and list paging."""

from __future__ import annotations

import pytest

from eventpipes.api import params
from eventpipes.api.errors import ApiError


def test_names_get_aws_framework_messages() -> None:
    assert params.name({"ArchiveName": "a.b-c_1"}, "ArchiveName", 48) == "a.b-c_1"
    with pytest.raises(ApiError) as pattern:
        params.name({"ArchiveName": "bad name!"}, "ArchiveName", 48)
    assert pattern.value.code == "ValidationException"
    assert pattern.value.message == ("1 validation error detected: Value 'bad name!' at 'archiveName' failed to satisfy "
                                     "constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+")
    with pytest.raises(ApiError) as length:
        params.name({"ReplayName": "r" * 65}, "ReplayName", 64)
    assert "at 'replayName' failed to satisfy constraint: Member must have length less than or equal to 64" in length.value.message
    with pytest.raises(ApiError) as absent:
        params.name({}, "ReplayName", 64)
    assert "Value null at 'replayName'" in absent.value.message
    with pytest.raises(ApiError) as wrong_type:
        params.name({"ReplayName": 3}, "ReplayName", 64)
    assert wrong_type.value.code == "SerializationException"


def test_integers_and_timestamps() -> None:
    assert params.integer({"Limit": 5}, "Limit", low=1, high=100) == 5
    with pytest.raises(ApiError) as high:
        params.integer({"Limit": 101}, "Limit", low=1, high=100)
    assert "Value '101' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 100" in high.value.message
    with pytest.raises(ApiError):
        params.integer({"Limit": True}, "Limit")
    assert params.epoch_ms({"T": 1767225600.25}, "T") == 1767225600250
    assert params.epoch_ms({"T": "2026-01-01T00:00:00Z"}, "T") == 1767225600000


def test_pages_follow_the_last_key_so_added_items_do_not_shift_them() -> None:
    items = ["a", "b", "c", "d", "e"]
    first, token = params.page(items, str, 2, None)
    assert first == ["a", "b"] and token
    grown = ["0", *items]  # an item added before the token's position is not seen again or skipped
    second, token2 = params.page(grown, str, 2, token)
    assert second == ["c", "d"] and token2
    assert params.page(grown, str, 2, token2) == (["e"], None)
    assert params.page(items, str, None, None) == (items, None)
    with pytest.raises(ApiError) as bad:
        params.page(items, str, 2, "not-a-token")
    assert bad.value.code == "ValidationException"
