"""The claims log's rules: the first live claim of a name wins, whatever process made it."""

from __future__ import annotations

from eventpipes.kafka.claims import CLAIM_TTL_MS, ClaimRecord, decide


def claim(name: str, claim_id: str, at: int = 0) -> ClaimRecord:
    return ClaimRecord("claim", name, claim_id, at)


def test_first_claim_wins_and_the_second_loses() -> None:
    log = [claim("a", "1"), claim("a", "2"), claim("b", "3")]
    assert [decide(log, i) for i in ("1", "2", "3")] == [True, False, True]


def test_release_frees_the_name() -> None:
    log = [claim("a", "1"), ClaimRecord("confirm", "a", "1", 1), ClaimRecord("release", "a", "x", 2), claim("a", "2", 3)]
    assert decide(log, "2")


def test_an_unconfirmed_claim_expires_a_confirmed_one_does_not() -> None:
    late = CLAIM_TTL_MS + 1
    assert decide([claim("a", "1"), claim("a", "2", late)], "2")
    assert not decide([claim("a", "1"), ClaimRecord("confirm", "a", "1", 5), claim("a", "2", late)], "2")
    assert not decide([claim("a", "1"), claim("a", "2", CLAIM_TTL_MS - 1)], "2")


def test_a_confirm_of_a_claim_that_lost_changes_nothing() -> None:
    log = [claim("a", "1"), claim("a", "2"), ClaimRecord("confirm", "a", "2", 1), claim("a", "3", CLAIM_TTL_MS + 1)]
    assert decide(log, "3")  # "1" never confirmed and expired; "2"'s confirm did not make it the holder


def test_records_survive_encoding() -> None:
    record = ClaimRecord("confirm", "a", "1", 7)
    assert ClaimRecord.decode(record.encode()) == record
    assert ClaimRecord.decode(b"not json") is None
