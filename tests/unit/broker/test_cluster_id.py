"""The KRaft cluster id handed to Kafka's storage tool on the command line."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator

from eventpipes.broker.process import new_cluster_id

# 0xF8 encodes to "-" as the first urlsafe base64 character: the storage tool
# then read the id as an option and the broker never started (1 start in 64).
DASH_FIRST = uuid.UUID(bytes=b"\xf8" + bytes(15))
PLAIN = uuid.UUID(bytes=b"\x10" + bytes(15))


def test_an_id_starting_with_a_dash_is_drawn_again() -> None:
    assert base64.urlsafe_b64encode(DASH_FIRST.bytes).decode().startswith("-")
    draws: Iterator[uuid.UUID] = iter([DASH_FIRST, DASH_FIRST, PLAIN])

    cluster_id = new_cluster_id(lambda: next(draws))

    assert cluster_id == base64.urlsafe_b64encode(PLAIN.bytes).decode().rstrip("=")


def test_ids_are_22_characters_of_urlsafe_base64_and_never_an_option() -> None:
    for _ in range(2_000):
        cluster_id = new_cluster_id()
        assert len(cluster_id) == 22 and not cluster_id.startswith("-")
        assert uuid.UUID(bytes=base64.urlsafe_b64decode(cluster_id + "==")).bytes
