"""Confluent framing and subject naming."""

from __future__ import annotations

import pytest

from eventpipes.schemas import naming, wire
from eventpipes.schemas.errors import BadMagicByte, TruncatedFrame


def test_frame_round_trips_and_matches_confluent_layout() -> None:
    framed = wire.frame(258, b"\x02ab")
    assert framed == b"\x00\x00\x00\x01\x02\x02ab"
    assert wire.unframe(framed) == (258, b"\x02ab")


@pytest.mark.parametrize("data", [b"", b"\x00\x00\x00\x01"])
def test_short_frame_is_truncated(data: bytes) -> None:
    with pytest.raises(TruncatedFrame):
        wire.read_header(data)


def test_bad_magic_byte() -> None:
    with pytest.raises(BadMagicByte, match="0x7b"):
        wire.read_header(b'{"a": 1}')


def test_schema_id_range() -> None:
    with pytest.raises(ValueError):
        wire.header(-1)


def test_strategies() -> None:
    assert naming.topic_name_strategy("orders", "x.Order") == "orders-value"
    assert naming.topic_name_strategy("orders", None, True) == "orders-key"
    assert naming.record_name_strategy("orders", "x.Order") == "x.Order"
    assert naming.topic_record_name_strategy("orders", "x.Order") == "orders-x.Order"
    with pytest.raises(ValueError):
        naming.record_name_strategy("orders", None)


def test_discovered_subject_and_avro_names() -> None:
    assert naming.discovered_subject("com.example.orders", "Order Placed!") == "com.example.orders@OrderPlaced"
    assert naming.avro_name("order-id") == "order_id"
    assert naming.avro_name("1st") == "_1st"
    assert naming.avro_namespace("com.my-shop.orders") == "com.my_shop.orders"
