"""Parsing and time attribution on plans recorded from PostgreSQL 15, plus key variants."""

from __future__ import annotations

import copy
import json
import math

import pytest
from _explain_plans import PLANS_DIR, RECORDED

from rollbook.explain.parse import PlanError, load_plan, node_label, parse_plan

# PostgreSQL prints per-loop times in whole microseconds; each loop can be 0.5 µs off.
HALF_MICROSECOND_MS = 0.0005


def rounding_bound(plan) -> float:
    return sum(HALF_MICROSECOND_MS * (n.loops or 0) for n in plan.nodes) + 0.002


def _serial_analysed() -> list[str]:
    plans = {name: load_plan(PLANS_DIR / f"{name}.json") for name in RECORDED}
    return [name for name, p in plans.items() if p.analyzed and not p.is_parallel]


@pytest.mark.parametrize("name", _serial_analysed())
def test_exclusive_times_add_up_on_serial_plans(recorded, name):
    plan = recorded[name]
    exclusive = sum(n.exclusive_ms for n in plan.nodes)
    assert exclusive == pytest.approx(plan.root.inclusive_ms, abs=rounding_bound(plan))
    # what is left of the execution time: AFTER triggers, executor start-up and shutdown
    rest = plan.execution_ms - exclusive - plan.trigger_ms
    assert -rounding_bound(plan) <= rest <= 0.05 * plan.execution_ms + 0.5


def test_every_recorded_case_is_present():
    expected = {
        "parallel_seq_scan", "cte", "initplan_subplan", "never_executed", "sort_spill",
        "hash_spill", "lossy_bitmap", "nested_loop_many_loops", "dml_triggers", "jit",
        "large_offset", "heap_fetches", "clean", "plain_explain", "workers_not_launched",
        "misestimate", "index_filter_waste", "planning_over_execution",
    }  # fmt: skip
    assert expected <= set(RECORDED)
    server = json.loads((PLANS_DIR / "clean.json").read_text())[0]["Settings"]
    assert server is not None  # SETTINGS option was used


def test_parallel_workers_divide_loops(recorded):
    plan = recorded["parallel_seq_scan"]
    gather = next(n for n in plan.nodes if n.node_type == "Gather Merge")
    scan = next(n for n in plan.nodes if n.label == "Parallel Seq Scan on messages")
    assert gather.get("Workers Launched") == 2
    assert scan.processes == 3 and scan.loops == 3
    assert scan.inclusive_ms == pytest.approx(scan.get("Actual Total Time") * 3 / 3)
    assert gather.exclusive_ms == pytest.approx(
        gather.inclusive_ms - gather.children[0].inclusive_ms
    )


def test_workers_not_launched_run_in_the_leader(recorded):
    scan = next(n for n in recorded["workers_not_launched"].nodes if n.parallel_aware)
    assert scan.processes == 1


def test_cte_time_counted_once(recorded):
    plan = recorded["cte"]
    cte = next(n for n in plan.nodes if n.subplan_name == "CTE recent")
    scans = [n for n in plan.nodes if n.node_type == "CTE Scan"]
    slowest = max(scans, key=lambda n: n.inclusive_ms)
    assert slowest.exclusive_ms == pytest.approx(slowest.inclusive_ms - cte.inclusive_ms)
    assert plan.root.exclusive_ms < 0.1  # the Limit does not get the CTE subtracted twice


def test_initplan_and_subplan_are_subtracted_from_the_node_that_ran_them(recorded):
    plan = recorded["initplan_subplan"]
    root = plan.root
    subplans = [n for n in root.children if n.parent_relationship in ("InitPlan", "SubPlan")]
    assert {n.subplan_name.split()[0] for n in subplans} == {"InitPlan", "SubPlan"}
    assert root.exclusive_ms == pytest.approx(
        root.inclusive_ms - sum(c.inclusive_ms for c in root.children)
    )


def _pg17_initplan_document() -> dict:
    """An InitPlan referenced by a node below its parent, in PostgreSQL 17 notation."""

    def node(node_type, total, children=(), **extra):
        return {
            "Node Type": node_type,
            "Plan Rows": 1,
            "Actual Rows": 1,
            "Actual Loops": 1,
            "Actual Total Time": total,
            "Plans": list(children),
            **extra,
        }

    init = node("Result", 4.0, **{"Parent Relationship": "InitPlan", "Subplan Name": "InitPlan 1"})
    scan = node(
        "Seq Scan", 5.0, **{"Parent Relationship": "Outer", "Filter": "(x > (InitPlan 1).col1)"}
    )
    sort = node("Sort", 6.0, [scan], **{"Parent Relationship": "Outer"})
    return {"Plan": node("Limit", 6.5, [init, sort]), "Execution Time": 6.6}


def test_initplan_time_goes_to_the_node_that_references_it():
    plan = parse_plan(_pg17_initplan_document())
    limit, init, sort, scan = plan.nodes
    assert scan.exclusive_ms == pytest.approx(1.0)  # 5.0 minus the 4.0 InitPlan it ran
    assert limit.exclusive_ms == pytest.approx(0.5)
    assert sum(n.exclusive_ms for n in plan.nodes) == pytest.approx(6.5)


def test_never_executed_nodes(recorded):
    plan = recorded["never_executed"]
    idle = [n for n in plan.nodes if n.never_executed]
    assert idle and all(n.inclusive_ms == 0 and n.exclusive_ms == 0 for n in idle)


def test_plain_explain_has_no_actuals(recorded):
    plan = recorded["plain_explain"]
    assert not plan.analyzed and plan.execution_ms is None
    assert all(math.isnan(n.inclusive_ms) for n in plan.nodes)
    assert plan.root.label.startswith("Limit")


def test_triggers_jit_planning(recorded):
    dml = recorded["dml_triggers"]
    assert dml.root.label == "Insert on messages"
    assert {t.relation for t in dml.triggers} >= {"messages"}
    assert dml.trigger_ms > 0 and all(t.calls == 5000 for t in dml.triggers)
    jit = recorded["jit"].jit
    assert jit is not None and jit.functions > 0
    assert jit.total_ms == pytest.approx(
        jit.generation_ms + jit.inlining_ms + jit.optimization_ms + jit.emission_ms, abs=0.01
    )
    assert recorded["planning_over_execution"].planning_ms > 5


def test_pg17_nested_jit_timing():
    document = json.loads((PLANS_DIR / "jit.json").read_text())[0]
    timing = document["JIT"]["Timing"]
    timing["Generation"] = {"Deform": 0.1, "Total": timing["Generation"]}
    plan = parse_plan(document)
    assert plan.jit.generation_ms == pytest.approx(timing["Generation"]["Total"])


@pytest.mark.parametrize("old,new", [("I/O Read Time", "Shared I/O Read Time")])
def test_old_and_new_io_time_keys(recorded, old, new):
    document = copy.deepcopy(recorded["clean"].document)
    for key in (old, new):
        variant = copy.deepcopy(document)
        variant["Plan"][key] = 2.5
        assert parse_plan(variant).root.io_time("shared_io_read_ms") == 2.5


def test_buffers_exclusive(recorded):
    plan = recorded["clean"]
    limit, scan = plan.nodes
    assert limit.buffers("shared_hit_blocks") == scan.buffers("shared_hit_blocks") > 0
    assert limit.exclusive_buffers["shared_hit_blocks"] == 0
    assert scan.exclusive_buffers["shared_hit_blocks"] == scan.buffers("shared_hit_blocks")


@pytest.mark.parametrize(
    "raw,label",
    [
        ({"Node Type": "Aggregate", "Strategy": "Hashed"}, "HashAggregate"),
        (
            {"Node Type": "Aggregate", "Strategy": "Plain", "Partial Mode": "Finalize"},
            "Finalize Aggregate",
        ),
        (
            {"Node Type": "Seq Scan", "Parallel Aware": True, "Relation Name": "m", "Alias": "x"},
            "Parallel Seq Scan on m x",
        ),
        (
            {
                "Node Type": "Index Scan",
                "Scan Direction": "Backward",
                "Index Name": "i",
                "Relation Name": "m",
                "Alias": "m",
            },
            "Index Scan Backward using i on m",
        ),
        ({"Node Type": "Bitmap Index Scan", "Index Name": "i"}, "Bitmap Index Scan on i"),
        ({"Node Type": "ModifyTable", "Operation": "Delete", "Relation Name": "m"}, "Delete on m"),
    ],
)
def test_labels(raw, label):
    assert node_label(raw) == label


@pytest.mark.parametrize(
    "source,message",
    [
        ("not json", "not JSON"),
        ('{"a": 1}', 'no top-level "Plan"'),
        ("[]", "exactly one plan"),
        ('[{"Plan": {"Plans": []}}]', "Node Type"),
    ],
)
def test_not_a_plan(source, message):
    with pytest.raises(PlanError, match=message):
        parse_plan(source)


def test_query_plan_wrapper_is_accepted(recorded):
    wrapped = {"QUERY PLAN": [recorded["clean"].document]}
    assert len(parse_plan(wrapped).nodes) == len(recorded["clean"].nodes)
