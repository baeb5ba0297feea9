"""Plan assertions, plan diff and charts on the recorded before/after plans."""

from __future__ import annotations

import pytest

from rollbook.explain import charts
from rollbook.explain.assertions import check_assertions, matches
from rollbook.explain.diff import diff
from rollbook.explain.params import PlanAssertion
from rollbook.explain.parse import parse_plan
from rollbook.explain.synthetic import synthetic_document
from rollbook.verdict import Status

KEYSET = [
    PlanAssertion(uses_index="messages_conversation_keyset_idx"),
    PlanAssertion(no_node="Seq Scan on messages"),
    PlanAssertion(no_node="Sort"),
    PlanAssertion(max_rows_examined=500),
    PlanAssertion(max_execution_ms=5),
    PlanAssertion(max_buffers=200),
]


def test_assertions_pass_after_the_index(recorded):
    checks = check_assertions(recorded["clean"], KEYSET)
    assert [c.status for c in checks] == [Status.PASS] * len(KEYSET)
    assert checks[0].name == "clean: uses index: messages_conversation_keyset_idx"


def test_assertions_fail_before_the_index(recorded):
    checks = check_assertions(recorded["parallel_seq_scan"], KEYSET)
    assert [c.status for c in checks] == [Status.FAIL] * len(KEYSET)
    assert "Parallel Seq Scan on messages" in checks[1].detail
    assert checks[3].observed == 200_001  # every row of messages was read


def test_plain_explain_has_no_data_for_measured_assertions(recorded):
    statuses = [c.status for c in check_assertions(recorded["plain_explain"], KEYSET)]
    assert statuses[:3] == [Status.PASS] * 3
    assert statuses[3:] == [Status.NO_DATA] * 3


@pytest.mark.parametrize(
    "pattern,expected",
    [
        ("Seq Scan", True),
        ("Parallel Seq Scan on messages", True),
        ("seq scan on messages", True),
        ("Seq Scan on users", False),
        ("Index Scan", False),
    ],
)
def test_node_patterns(recorded, pattern, expected):
    scan = recorded["parallel_seq_scan"].nodes[-1]
    assert matches(scan, pattern) is expected


def test_diff_reports_shape_and_metrics_separately(recorded):
    result = diff(recorded["parallel_seq_scan"], recorded["clean"])
    shape = result.shape.set_index("change")
    assert result.shape_changed
    assert shape.loc["replaced", "before_label"] == "Parallel Seq Scan on messages"
    assert shape.loc["replaced", "after_label"].startswith("Index Scan using messages_conv")
    assert set(result.shape["change"]) == {"replaced", "removed"}
    statement = result.statement.set_index("metric")
    assert statement.loc["execution_ms", "ratio"] < 0.1
    assert statement.loc["shared_blocks", "delta"] < 0


def test_diff_of_the_same_plan_has_no_shape_change(recorded):
    result = diff(recorded["cte"], recorded["cte"])
    assert not result.shape_changed
    assert (result.nodes["delta_exclusive_ms"] == 0).all()


def test_icicle_covers_every_node(recorded):
    plan = recorded["initplan_subplan"]
    trace = charts.icicle(plan).data[0]
    assert len(trace.ids) == len(plan.nodes)
    assert sum(trace.values) == pytest.approx(sum(n.exclusive_ms for n in plan.nodes))


def test_large_plan_charts_stay_readable():
    plan = parse_plan(synthetic_document(1001))
    trace = charts.icicle(plan, max_depth=5, label_chars=20).data[0]
    assert trace.maxdepth == 5 and max(len(label) for label in trace.labels) <= 20
    bars = charts.node_bars(plan, "exclusive_ms", top=10).data[0]
    assert len(plan.nodes) > 900
    assert len(bars.y) == 11 and bars.y[-1] == f"other ({len(plan.nodes) - 10} nodes)"


def test_diff_chart_and_bad_metric(recorded):
    figure = charts.diff_chart(diff(recorded["parallel_seq_scan"], recorded["clean"]))
    assert [t.name for t in figure.data] == ["before", "after"]
    with pytest.raises(ValueError, match="unknown metric"):
        charts.node_bars(recorded["clean"], "nope")
