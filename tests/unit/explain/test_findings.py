"""Each finding fires on the recorded case built for it and never on the clean plans."""

from __future__ import annotations

import pytest

from rollbook.explain.analysis import analyse
from rollbook.explain.findings import RULES
from rollbook.explain.params import FindingThresholds

CASE_FOR = {
    "HOT_NODE": "sort_spill",
    "MISESTIMATE": "misestimate",
    "SEQ_SCAN_FILTER_WASTE": "parallel_seq_scan",
    "INDEX_FILTER_WASTE": "index_filter_waste",
    "SORT_SPILL": "sort_spill",
    "HASH_SPILL": "hash_spill",
    "LOSSY_BITMAP": "lossy_bitmap",
    "HEAP_FETCHES": "heap_fetches",
    "NESTED_LOOP_MANY_LOOPS": "nested_loop_many_loops",
    "WORKERS_NOT_LAUNCHED": "workers_not_launched",
    "JIT_OVERHEAD": "jit",
    "TEMP_IO": "hash_spill",
    "LARGE_OFFSET": "large_offset",
    "PLANNING_OVER_EXECUTION": "planning_over_execution",
    "TRIGGER_OVERHEAD": "dml_triggers",
}
CLEAN = ["clean", "history_next_page", "conversation_list", "never_executed", "plain_explain"]


def test_every_rule_has_a_case():
    assert len(RULES) == len(CASE_FOR)


@pytest.mark.parametrize("code,case", sorted(CASE_FOR.items()))
def test_fires_on_its_case(recorded, code, case):
    findings = [f for f in analyse(recorded[case]).findings if f.code == code]
    assert findings, f"{code} did not fire on {case}"
    for f in findings:
        assert f.severity in ("info", "warning", "critical")
        assert f.message and f.action
        assert f.node_id is None or 1 <= f.node_id <= len(recorded[case].nodes)


@pytest.mark.parametrize("case", CLEAN)
def test_silent_on_clean_plans(recorded, case):
    assert analyse(recorded[case]).findings == []


def test_findings_point_at_the_right_node(recorded):
    def node_of(case, code):
        plan = recorded[case]
        finding = next(f for f in analyse(plan).findings if f.code == code)
        return plan.node(finding.node_id)

    assert node_of("sort_spill", "SORT_SPILL").node_type == "Sort"
    assert node_of("hash_spill", "HASH_SPILL").node_type == "Hash"
    assert node_of("misestimate", "MISESTIMATE").label == "Seq Scan on messages"
    assert node_of("heap_fetches", "HEAP_FETCHES").node_type == "Index Only Scan"
    assert node_of("large_offset", "LARGE_OFFSET").node_type == "Limit"
    assert node_of("index_filter_waste", "INDEX_FILTER_WASTE").index == (
        "messages_conversation_keyset_idx"
    )


def test_over_estimates_below_a_limit_are_expected(recorded):
    frame = analyse(recorded["history_next_page"]).nodes
    scan = frame[frame["node_type"] == "Index Scan"].iloc[0]
    assert scan["estimate_direction"] == "over" and scan["estimate_factor"] >= 10
    assert scan["stopped_early"]


@pytest.mark.parametrize(
    "case,code,override",
    [
        ("misestimate", "MISESTIMATE", {"misestimate_factor": 1e9}),
        ("heap_fetches", "HEAP_FETCHES", {"heap_fetches_min": 10**9}),
        ("nested_loop_many_loops", "NESTED_LOOP_MANY_LOOPS", {"nested_loop_min_loops": 10**9}),
        ("dml_triggers", "TRIGGER_OVERHEAD", {"trigger_share": 0.99}),
        ("clean", "HOT_NODE", {"hot_node_min_ms": 0}),
    ],
)
def test_thresholds_are_configurable(recorded, case, code, override):
    default = {f.code for f in analyse(recorded[case]).findings}
    tuned = {f.code for f in analyse(recorded[case], FindingThresholds(**override)).findings}
    assert (code in default) != (code in tuned)


def test_severity_order(recorded):
    findings = analyse(recorded["large_offset"]).findings
    order = ["critical", "warning", "info"]
    ranks = [order.index(f.severity) for f in findings]
    assert ranks == sorted(ranks)
