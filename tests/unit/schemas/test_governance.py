"""Schema governance: subjects per event type, and details checked field by field."""

from __future__ import annotations

import io
import json

import fastavro
import pytest
from pydantic import ValidationError

from eventpipes.schemas.avro_json import from_datum, to_datum
from eventpipes.schemas.governance import DetailDoesNotFitSchema, NoSchemaForEventType, SchemaGovernance
from eventpipes.schemas.serde import parse_schema

ORDER = parse_schema(json.dumps({
    "type": "record", "name": "OrderPlaced", "namespace": "com.example.orders",
    "fields": [
        {"name": "orderId", "type": "string"},
        {"name": "total", "type": "double"},
        {"name": "count", "type": "int"},
        {"name": "coupon", "type": ["null", "string"], "default": None},
        {"name": "customer_id", "type": ["null", "string"], "default": None, "jsonName": "customer-id"},
        {"name": "address", "type": ["null", {"type": "record", "name": "Address", "fields": [{"name": "zip", "type": "string"}]}], "default": None},
        {"name": "items", "type": {"type": "array", "items": "Address"}, "default": []},
        {"name": "status", "type": {"type": "enum", "name": "Status", "symbols": ["NEW", "PAID"]}, "default": "NEW"},
    ],
}))


def test_default_strategy_is_the_discovered_name() -> None:
    governance = SchemaGovernance()
    assert governance.subject_for("orders", "com.example.orders", "Order Placed") == ("com.example.orders@OrderPlaced", None)
    by_bus = SchemaGovernance(SubjectNameStrategy="BusSourceDetailType")
    assert by_bus.subject_for("orders", "com.example", "Paid") == ("orders.com.example@Paid", None)


def test_explicit_subjects_and_pinned_versions() -> None:
    governance = SchemaGovernance.model_validate({
        "Subjects": [{"Source": "s", "DetailType": "A", "Version": 2}, {"Source": "s", "DetailType": "B", "Subject": "b-value"}],
    })
    assert governance.subject_for("bus", "s", "A") == ("s@A", 2)
    assert governance.subject_for("bus", "s", "B") == ("b-value", None)
    assert SchemaGovernance.from_json(governance.to_json()) == governance
    assert governance.on_missing_subject == "REJECT"


def test_unknown_keys_and_bad_values_are_refused() -> None:
    with pytest.raises(ValidationError):
        SchemaGovernance.model_validate({"SubjectNameStrategy": "Topic"})
    with pytest.raises(ValidationError):
        SchemaGovernance.model_validate({"Subject": []})
    with pytest.raises(ValidationError):
        SchemaGovernance.model_validate({"Subjects": [{"Source": "s", "DetailType": "A", "Version": 0}]})


def test_a_fitting_detail_round_trips_with_json_names() -> None:
    detail = {"orderId": "o-1", "total": 3, "count": 2, "customer-id": "c-9", "address": {"zip": "75001"}, "items": [{"zip": "1"}]}
    datum, problems = to_datum(ORDER, detail)
    assert problems == []
    assert datum["customer_id"] == "c-9" and "customer-id" not in datum
    out = io.BytesIO()
    fastavro.schemaless_writer(out, ORDER, datum)
    out.seek(0)
    back = from_datum(ORDER, fastavro.schemaless_reader(out, ORDER, None))
    assert back == {**detail, "total": 3.0, "coupon": None, "status": "NEW"}


@pytest.mark.parametrize(("detail", "expected"), [
    ({"orderId": "o-1", "total": "3", "count": 1}, ['detail.total: expected double, got string "3"']),
    ({"total": 3.0, "count": 1}, ["detail.orderId: required field is missing"]),
    ({"orderId": "o", "total": 1, "count": 2**40}, ["detail.count: expected int, got integer 1099511627776"]),
    ({"orderId": "o", "total": 1, "count": True}, ["detail.count: expected int, got boolean true"]),
    ({"orderId": "o", "total": 1, "count": 1, "extra": 1}, ["detail.extra: not in the schema"]),
    ({"orderId": "o", "total": 1, "count": 1, "address": {"zip": 5}}, ["detail.address.zip: expected string, got integer 5"]),
    ({"orderId": "o", "total": 1, "count": 1, "items": [{"zip": "1"}, {}]}, ["detail.items[1].zip: required field is missing"]),
    ({"orderId": "o", "total": 1, "count": 1, "status": "GONE"}, ['detail.status: expected one of NEW, PAID, got string "GONE"']),
    ({"orderId": "o", "total": 1, "count": 1, "coupon": 5}, ["detail.coupon: expected string, got integer 5"]),
])
def test_each_problem_names_its_field(detail: dict[str, object], expected: list[str]) -> None:
    assert to_datum(ORDER, detail)[1] == expected


def test_entry_errors_carry_the_eventbridge_code_and_the_fields() -> None:
    error = DetailDoesNotFitSchema("s@A", 3, [f"detail.f{i}: required field is missing" for i in range(7)])
    assert error.code == "InvalidArgument" and error.field == "Detail" and len(error.problems) == 7
    assert error.message.startswith("Parameter Detail is not valid. Reason: it does not match schema 's@A' version 3: detail.f0")
    assert error.message.endswith("(and 2 more)")
    missing = NoSchemaForEventType("orders", "s@A", None)
    assert missing.code == "InvalidArgument" and "'s@A'" in missing.message and "schema-governed" in missing.message


def test_topology_declares_governance_with_locations() -> None:
    from eventpipes.topology.errors import TopologyError
    from eventpipes.topology.load import load_text

    topology = load_text("EventBuses:\n  - Name: orders\n    SchemaGovernance: {OnMissingSubject: ALLOW_JSON}\n")
    governance = topology.bus("orders").schema_governance
    assert governance is not None and governance.on_missing_subject == "ALLOW_JSON"
    assert topology.bus("default").schema_governance is None
    twice = "EventBuses:\n  - Name: orders\n    SchemaGovernance:\n      Subjects:\n        - {Source: s, DetailType: A}\n        - {Source: s, DetailType: A, Version: 2}\n"
    with pytest.raises(TopologyError) as info:
        load_text(twice)
    assert "5:11: EventBuses[0].SchemaGovernance.Subjects[0]: Source 's' with DetailType 'A' is listed more than once" in str(info.value)
    with pytest.raises(TopologyError) as typo:
        load_text("EventBuses:\n  - Name: orders\n    SchemaGovernance: {OnMissing: REJECT}\n")
    assert "OnMissing" in str(typo.value)
