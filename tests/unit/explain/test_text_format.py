"""EXPLAIN's TEXT format read like FORMAT JSON: public TEXT plans, and TEXT twins of the
recorded JSON cases (the same EXPLAIN run again in FORMAT TEXT by record_cases.py --text)."""

from __future__ import annotations

import pytest
from _explain_plans import CASES_DIR

from rollbook.explain.analysis import analyse
from rollbook.explain.parse import load_plan

TWINS = sorted(p.name.removesuffix(".text.plan") for p in CASES_DIR.glob("*.text.plan"))
# Keys the analyser reads whose value is the same in both formats (TEXT leaves out zeros
# and batches that did not change).
SAME_VALUE = [
    "Node Type", "Parent Relationship", "Subplan Name", "Relation Name", "Alias", "Index Name",
    "CTE Name", "Function Name", "Join Type", "Strategy", "Operation", "Filter", "Index Cond",
    "Join Filter", "Hash Cond", "Run Condition", "Params Evaluated", "Sort Method",
    "Sort Space Type", "Hash Batches", "Original Hash Batches", "HashAgg Batches",
    "Cache Misses", "Lossy Heap Blocks",
]  # fmt: skip
# Keys whose value changes from run to run: there when JSON has them non-zero (TEXT omits
# zeros), with any value.
PRESENT = [
    "Startup Cost", "Total Cost", "Plan Rows", "Actual Total Time", "Actual Rows",
    "Actual Loops", "Rows Removed by Filter", "Shared Hit Blocks", "Temp Written Blocks",
    "Sort Space Used", "Cache Hits", "Workers Planned", "Full-sort Groups", "Pre-sorted Groups",
    "Heap Fetches",
]  # fmt: skip


def test_every_recorded_case_has_a_text_twin():
    assert len(TWINS) >= 15


@pytest.mark.parametrize("name", TWINS)
def test_text_twin_reads_as_its_json(name):
    text, json = load_plan(CASES_DIR / f"{name}.text.plan"), load_plan(CASES_DIR / f"{name}.json")
    assert len(text.nodes) == len(json.nodes)
    for t, j in zip(text.nodes, json.nodes, strict=True):
        assert (t.label, t.depth) == (j.label, j.depth)
        assert t.get("Parallel Aware", False) == j.get("Parallel Aware")
        assert t.get("Partial Mode", "Simple") == j.get("Partial Mode", "Simple")
        assert t.get("Scan Direction", "Forward") == j.get("Scan Direction", "Forward")
        omitted = {"Lossy Heap Blocks": 0, "Original Hash Batches": j.get("Hash Batches")}
        for key in SAME_VALUE:
            default = omitted.get(key) if key in j.raw else None
            assert t.get(key, default) == j.get(key), f"#{t.id} {key}"
        for key in PRESENT:
            assert key in t.raw if j.get(key) else key not in t.raw or key in j.raw, (
                f"#{t.id} {key}"
            )
        workers = [sorted(w) for w in t.get("Workers", [])]
        assert workers == [sorted(w) for w in j.get("Workers", []) if len(w) > 1]
    assert [(tr.name, tr.calls) for tr in text.triggers] == [
        (tr.name, tr.calls) for tr in json.triggers
    ]
    assert text.execution_reported == json.execution_reported
    assert (text.jit and text.jit.functions) == (json.jit and json.jit.functions)
    assert (text.jit is None) or text.jit.total_ms > 0
    assert text.settings == json.settings
    assert analyse(text).summary["analyzed"]


@pytest.mark.parametrize(
    "name", [n for n in TWINS if not load_plan(CASES_DIR / f"{n}.json").is_parallel]
)
def test_text_twin_time_split_adds_up(name):
    plan = load_plan(CASES_DIR / f"{name}.text.plan")
    bound = sum(0.0005 * (n.loops or 0) for n in plan.nodes) + 0.002
    assert sum(n.exclusive_ms for n in plan.nodes) == pytest.approx(
        plan.root.inclusive_ms, abs=bound
    )


def test_public_text_plan_with_io_timings():
    plan = load_plan(CASES_DIR / "io_timings.plan")
    (scan,) = plan.nodes
    assert scan.label == "Index Scan using idea_1 on domains"
    assert scan.buffers("shared_read_blocks") == 8029 and scan.buffers("shared_written_blocks") == 1
    assert scan.io_time("shared_io_read_ms") == 16.962
    assert plan.execution_ms == 23.826
    assert [f.code for f in analyse(plan).findings] == ["HOT_NODE"]


def test_public_text_plan_with_parallel_workers():
    plan = load_plan(CASES_DIR / "parallel_workers.plan")
    gather, sort, scan = plan.nodes
    assert scan.label == "Parallel Seq Scan on t1" and scan.get("Schema") == "public"
    assert gather.get("Workers Launched") == 2 and sort.processes == 3
    assert sort.get("Sort Space Used") == 125168
    assert [w["Actual Startup Time"] for w in sort.get("Workers")] == [1431.136, 1431.175]
    (spill,) = [f for f in analyse(plan).findings if f.code == "SORT_SPILL"]
    assert "in worker 0" in spill.message and "in worker 1" in spill.message
