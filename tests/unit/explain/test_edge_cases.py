"""Plans the analyser got wrong (issue 12): public plans and plans recorded from PostgreSQL 15.

Each fixture in tests/fixtures/plans/cases says where it comes from in its `.source.txt`.
"""

from __future__ import annotations

import json
import re

import pytest
from _explain_plans import CASES_DIR, PLANS_DIR
from click.testing import CliRunner
from pydantic import ValidationError

from rollbook.cli import main
from rollbook.cli.explain import analysis_json
from rollbook.explain.analysis import analyse
from rollbook.explain.params import PlanAssertion
from rollbook.explain.parse import PlanError, load_plan, parse_plan

# PostgreSQL prints per-loop times in whole microseconds; each loop can be 0.5 µs off.
HALF_MICROSECOND_MS = 0.0005


def case(name: str):
    return load_plan(CASES_DIR / f"{name}.json")


def findings(plan, code: str):
    return [f for f in analyse(plan).findings if f.code == code]


def node_id(plan, label: str) -> int:
    return next(n.id for n in plan.nodes if n.label == label)


def test_every_case_cites_its_source():
    plans = sorted(CASES_DIR.glob("*.json")) + sorted(CASES_DIR.glob("*.plan"))
    assert len(plans) >= 20
    for path in plans:
        source = path.with_name(f"{path.name.split('.')[0]}.source.txt").read_text()
        assert "dalibo/pev2" in source or "Recorded from PostgreSQL 15" in source


# --- MISESTIMATE ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,label",
    [
        ("hash_join_empty_inner", "Seq Scan on big b"),  # the hash side was empty
        ("merge_join_stopped", "Index Scan using big_pkey on big b"),  # the other side ran out
        ("windowagg_run_condition", "Index Only Scan using big_pkey on big"),
        ("windowagg_run_condition", "WindowAgg"),  # its Run Condition stopped it
        ("cte_scan_stopped", "Seq Scan on big"),  # the CTE Scan reading it was stopped
        ("materialize_mark_restore", "Materialize"),  # re-reads after mark/restore
        ("bitmap_or", "BitmapOr"),  # always reports 0 rows
    ],
)
def test_nodes_cut_short_are_not_misestimates(name, label):
    plan = case(name)
    flagged = {f.node_id for f in findings(plan, "MISESTIMATE")}
    assert node_id(plan, label) not in flagged


def test_inner_side_under_a_limit_ran_every_loop_to_completion():
    plan = case("limit_inner_complete")
    inner = node_id(plan, "Index Scan using stale_k on stale s")
    assert [f.node_id for f in findings(plan, "MISESTIMATE")] == [inner]


def test_hash_side_under_a_limit_was_read_whole():
    plan = case("limit_hash_built_whole")
    flagged = {plan.node(f.node_id).label for f in findings(plan, "MISESTIMATE")}
    assert "Seq Scan on stale s" in flagged


def test_a_misestimate_is_reported_once_at_its_source():
    plan = case("misestimate_propagated")
    (finding,) = findings(plan, "MISESTIMATE")
    assert plan.node(finding.node_id).label == "Bitmap Heap Scan on big b"
    assert "#2 Hash Join" in finding.message and "#1 Sort" in finding.message


# --- NESTED_LOOP_MANY_LOOPS ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["memoize_hits", "materialize_rescan"])
def test_cheap_inner_sides_are_not_reported(name):
    assert findings(case(name), "NESTED_LOOP_MANY_LOOPS") == []


def test_correlated_subplan_per_row_is_reported():
    plan = case("subplan_per_row")
    (finding,) = findings(plan, "NESTED_LOOP_MANY_LOOPS")
    subplan = plan.node(finding.node_id)
    assert subplan.subplan_name == "SubPlan 1"
    assert "2,000 times" in finding.message and f"{subplan.inclusive_ms:.1f} ms" in finding.message


def test_time_rounded_to_zero_is_a_lower_bound():
    plan = case("rounding_million_loops")
    (finding,) = findings(plan, "NESTED_LOOP_MANY_LOOPS")
    inner = plan.node(finding.node_id).children[1]
    assert inner.loops == 1_000_000 and inner.get("Actual Total Time") == 0
    assert "0.0 ms in total" not in finding.message
    assert "lower bound" in finding.message and "500 ms" in finding.message


def test_many_loops_without_timing_say_the_time_is_unknown():
    document = json.loads((PLANS_DIR / "nested_loop_many_loops.json").read_text())
    timing_off = [  # as EXPLAIN (ANALYZE, TIMING OFF) prints it
        {**document[0], "Plan": _without_times(document[0]["Plan"])}
    ]
    (finding,) = findings(parse_plan(timing_off), "NESTED_LOOP_MANY_LOOPS")
    assert finding.severity == "info" and "not measured" in finding.message
    assert "nan" not in finding.message


def _without_times(node: dict) -> dict:
    times = ("Actual Startup Time", "Actual Total Time")
    bare = {k: v for k, v in node.items() if k not in times}
    bare["Plans"] = [_without_times(child) for child in node.get("Plans", [])]
    return bare


# --- time attribution ------------------------------------------------------------------------


def assert_adds_up(plan):
    bound = sum(HALF_MICROSECOND_MS * (n.loops or 0) for n in plan.nodes) + 0.002
    assert sum(n.exclusive_ms for n in plan.nodes) == pytest.approx(
        plan.root.inclusive_ms, abs=bound
    )


def test_initplan_evaluated_by_a_gather_is_charged_to_the_gather():
    plan = case("gather_initplan")
    gather = next(n for n in plan.nodes if n.get("Params Evaluated"))
    init = next(n for n in plan.nodes if n.parent_relationship == "InitPlan")
    scan = next(n for n in plan.nodes if n.label == "Parallel Seq Scan on big")
    assert scan.exclusive_ms == pytest.approx(scan.inclusive_ms)
    below = gather.children[0].inclusive_ms + init.inclusive_ms
    assert gather.exclusive_ms == pytest.approx(gather.inclusive_ms - below)
    assert_adds_up(plan)


def test_initplan_in_an_output_list_is_charged_to_the_node_that_ran_it():
    plan = case("initplan_output_list")
    sort, init, scan = plan.root, plan.node(2), plan.node(4)
    assert init.parent is sort and scan.label == "Seq Scan on big b"
    assert scan.exclusive_ms == pytest.approx(scan.inclusive_ms - init.inclusive_ms)
    assert sort.exclusive_ms == pytest.approx(sort.inclusive_ms - scan.inclusive_ms)
    assert_adds_up(plan)


def test_before_triggers_are_counted_once():
    plan = case("before_trigger")
    summary = analyse(plan).summary
    assert plan.trigger_ms > 0.5 * plan.execution_ms  # the BEFORE trigger, inside the Insert
    assert 0 <= summary["unattributed_ms"] <= 0.05 * plan.execution_ms + 0.5


@pytest.mark.parametrize("name", ["summary_off", "auto_explain"])
def test_actual_times_without_execution_time_are_analysed(name):
    plan = case(name)
    assert "Execution Time" not in plan.document
    analysis = analyse(plan)
    assert analysis.summary["analyzed"] is True
    assert analysis.summary["execution_ms"] == pytest.approx(plan.root.inclusive_ms)
    assert [f.node_id for f in findings(plan, "HOT_NODE")] == [2 if name == "auto_explain" else 3]


# --- input -----------------------------------------------------------------------------------


def test_psql_framed_json_is_parsed():
    plan = load_plan(CASES_DIR / "psql_framed_json.plan")
    assert [n.label for n in plan.nodes] == [
        "Nested Loop", "Seq Scan on users u", "Seq Scan on part_0 p"
    ]  # fmt: skip
    assert plan.execution_ms == 2.645
    assert_adds_up(plan)


def test_text_format_plan_is_parsed():
    plan = load_plan(CASES_DIR / "text_format.plan")
    framed_json = load_plan(CASES_DIR / "psql_framed_json.plan")  # the same query, as JSON
    assert [n.label for n in plan.nodes] == [n.label for n in framed_json.nodes]
    assert [n.parent_relationship for n in plan.nodes] == [None, "Outer", "Inner"]
    assert plan.execution_ms == 2.583 and plan.planning_ms == 0.053
    assert plan.node(3).get("Rows Removed by Filter") == 13205
    assert {f.code for f in analyse(plan).findings} == {
        f.code for f in analyse(framed_json).findings
    }
    assert_adds_up(plan)


def test_unreadable_text_plan_says_what_to_do(tmp_path):
    text = (
        (CASES_DIR / "text_format.plan")
        .read_text()
        .replace("Planning Time", "garbage from the terminal\nPlanning Time")
    )
    (tmp_path / "plan.txt").write_text(text)
    with pytest.raises(PlanError) as error:
        load_plan(tmp_path / "plan.txt")
    assert "TEXT-format plan" in str(error.value)
    assert "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)" in str(error.value)
    assert "garbage from the terminal" in str(error.value)
    result = CliRunner().invoke(main, ["explain", "analyze", str(tmp_path / "plan.txt")])
    assert result.exit_code == 2 and "TEXT-format plan" in result.output


def test_text_plan_without_costs_is_read(tmp_path):
    text = (CASES_DIR / "text_format.plan").read_text()
    (tmp_path / "plan.txt").write_text(re.sub(r"  \(cost=[^)]*\) \(actual[^)]*\)", "", text))
    plan = load_plan(tmp_path / "plan.txt")
    assert [n.label for n in plan.nodes][1:] == ["Seq Scan on users u", "Seq Scan on part_0 p"]
    assert not plan.analyzed


def test_yaml_plan_says_what_to_do(tmp_path):
    (tmp_path / "plan.yaml").write_text('- Plan:\n    Node Type: "Result"\n')
    with pytest.raises(PlanError, match="YAML-format plan: run EXPLAIN"):
        load_plan(tmp_path / "plan.yaml")


def test_broken_psql_framing_says_how_to_strip_it(tmp_path):
    framed = (CASES_DIR / "psql_framed_json.plan").read_text()
    broken = tmp_path / "broken.plan"
    broken.write_text(framed.replace('"Plan": {', '"Plan": {{'))
    with pytest.raises(PlanError, match="psql -XqAt"):
        load_plan(broken)


# --- spills ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,label", [("worker_sort_spill", "Sort"), ("incremental_sort_spill", "Incremental Sort")]
)
def test_sort_spills_in_workers_and_incremental_sorts(name, label):
    plan = case(name)
    (finding,) = findings(plan, "SORT_SPILL")
    assert plan.node(finding.node_id).label == label
    assert "kB" in finding.message


def test_hash_spills_in_workers():
    plan = case("worker_hash_spill")
    partial = node_id(plan, "Partial HashAggregate")
    (finding,) = [f for f in findings(plan, "HASH_SPILL") if f.node_id == partial]
    assert "in worker 0" in finding.message and "in worker 1" in finding.message


# --- schema types ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["materialize_rescan", "gather_initplan", "before_trigger"])
def test_json_has_the_types_schema_md_declares(name):
    out = json.loads(json.dumps(analysis_json(analyse(case(name)))))
    summary = out["summary"]
    for key in ("trigger_ms", "jit_ms", "shared_blocks", "wal_bytes"):
        assert isinstance(summary[key], float), key
    assert isinstance(summary["node_count"], int)
    for node in out["nodes"]:
        assert isinstance(node["node_id"], int)
        assert node["parent_id"] is None or isinstance(node["parent_id"], int)
        assert isinstance(node["processes"], int)
        for key in ("loops", "plan_rows", "inclusive_ms", "heap_fetches", "shared_hit_blocks"):
            assert isinstance(node[key], float), key


# --- no_node assertions ----------------------------------------------------------------------


@pytest.mark.parametrize("pattern", ["Seq Scna on messages", "Sorte", "Hash Jion", "Nested"])
def test_no_node_naming_no_node_type_is_a_params_error(pattern):
    with pytest.raises(ValidationError, match="no_node"):
        PlanAssertion(no_node=pattern)


@pytest.mark.parametrize(
    "pattern",
    ["Seq Scan on messages", "Sort", "HashAggregate", "Parallel Seq Scan", "Incremental Sort",
     "Index Scan using messages_pkey", "index only scan", "Finalize Aggregate", "Insert on m",
     "Index Scan Backward"],
)  # fmt: skip
def test_no_node_accepts_every_node_type(pattern):
    assert PlanAssertion(no_node=pattern).no_node == pattern


def test_params_check_names_the_bad_no_node(tmp_path):
    params = tmp_path / "p.yaml"
    params.write_text(
        "environment: t\nprimary: {dbname: chat, user: chat}\n"
        "explain:\n  assertions:\n    q:\n      - no_node: Seq Scna on messages\n"
    )
    result = CliRunner().invoke(main, ["params", "check", str(params)])
    assert result.exit_code == 2
    assert "no_node" in result.output and "Seq Scna" in result.output
