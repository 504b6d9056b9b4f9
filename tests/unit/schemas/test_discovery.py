"""Schema inference from EventBridge envelopes."""

from __future__ import annotations

import json
from typing import Any

from eventpipes.schemas import canonical
from eventpipes.schemas.compat import CompatibilityLevel, PriorVersion, check
from eventpipes.schemas.discovery import discover
from eventpipes.schemas.serde import parse_schema, problems


def event(detail: dict[str, Any], detail_type: str = "Order Placed", source: str = "com.example.orders") -> dict[str, Any]:
    return {"version": "0", "id": "1", "source": source, "detail-type": detail_type, "detail": detail}


EVENTS = [
    event({"orderId": "o-1", "total": 10, "items": [{"sku": "a", "qty": 1}], "order-channel": "web"}),
    event({"orderId": "o-2", "total": 12.5, "items": [], "coupon": None}),
    event({"userId": "u-1"}, detail_type="UserSignedUp"),
    {"source": "no.detail.type"},
]


def test_one_schema_per_source_and_detail_type() -> None:
    found = discover(EVENTS)
    assert [(s.subject, s.event_count) for s in found] == [
        ("com.example.orders@OrderPlaced", 2),
        ("com.example.orders@UserSignedUp", 1),
    ]


def test_json_schema_draft4_of_the_envelope() -> None:
    schema = discover(EVENTS)[0].json_schema
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    assert schema["x-amazon-events-detail-type"] == "Order Placed"
    assert schema["properties"]["detail"] == {"$ref": "#/definitions/OrderPlaced"}
    detail = schema["definitions"]["OrderPlaced"]
    assert detail["required"] == ["orderId", "total", "items"]  # seen in every event
    assert detail["properties"]["total"] == {"type": "number"}  # 10 and 12.5
    assert detail["properties"]["items"]["items"]["properties"]["qty"] == {"type": "integer"}
    assert detail["properties"]["coupon"] == {"type": "null"}


def test_avro_of_the_detail_accepts_every_seen_detail() -> None:
    avro = discover(EVENTS)[0].avro
    assert avro["name"] == "OrderPlaced" and avro["namespace"] == "com.example.orders"
    renamed = next(f for f in avro["fields"] if f.get("jsonName") == "order-channel")
    assert renamed["name"] == "order_channel"
    parsed = parse_schema(json.dumps(avro))
    for e in EVENTS[:2]:
        detail = {k.replace("-", "_"): v for k, v in e["detail"].items()}
        assert problems(parsed, detail) == []


def test_a_changed_shape_stays_backward_compatible() -> None:
    before = canonical.parse(json.dumps(discover(EVENTS[:1])[0].avro))
    after = canonical.parse(json.dumps(discover(EVENTS[:2])[0].avro))
    assert before.text != after.text
    assert check(CompatibilityLevel.BACKWARD, after, [PriorVersion(1, before)]).is_compatible
    # A later run that no longer sees a field (retention) still follows compatibly.
    wide = canonical.parse(json.dumps(discover([event({"a": "x", "b": 1})])[0].avro))
    narrow = canonical.parse(json.dumps(discover([event({"a": "y"})])[0].avro))
    assert check(CompatibilityLevel.BACKWARD, narrow, [PriorVersion(1, wide)]).is_compatible
