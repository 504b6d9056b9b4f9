"""`eventpipes status` adds up the counters of every worker that answers."""

from __future__ import annotations

from eventpipes.status import summed


def test_counters_of_several_workers_are_added_per_name_and_labels() -> None:
    routing = {"eventpipes_rule_matched_total": {("b", "r", ""): 5.0}}
    delivery = {"eventpipes_rule_matched_total": {("b", "r", ""): 0.0},
                "eventpipes_target_delivered_total": {("b", "r", "t"): 4.0, ("b", "r", "u"): 1.0}}
    another = {"eventpipes_target_delivered_total": {("b", "r", "t"): 2.0}}
    assert summed([routing, delivery, another]) == {
        "eventpipes_rule_matched_total": {("b", "r", ""): 5.0},
        "eventpipes_target_delivered_total": {("b", "r", "t"): 6.0, ("b", "r", "u"): 1.0},
    }


def test_no_workers_sum_to_nothing() -> None:
    assert summed([]) == {}
