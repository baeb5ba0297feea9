"""Findings: what is wrong with a plan, where, and what to do about it.

Every finding has a `code`, a `severity` (info / warning / critical), the `node_id` it is
about (None for statement-level findings), a plain-language `message` and an `action`.
Thresholds live in `FindingThresholds` (params `explain.thresholds`); the defaults:

Defaults (code: fires when ... -> severity):

- HOT_NODE: a node's exclusive time >= 50% of execution and >= 10 ms -> info
- MISESTIMATE: rows off by >= 10x per loop, the larger side >= 100 rows over all loops;
  over-estimates of nodes stopped early (Limit, semi/anti/unique join, a join whose other
  side ran out, a Run Condition, a stopped CTE Scan) and the re-read rows of a Merge Join's
  inner side are expected and skipped; BitmapAnd/BitmapOr report no rows. A node that only
  carries on a child's error (less than another 10x) is named in the child's finding, not
  reported again -> warning (critical from 1000x)
- SEQ_SCAN_FILTER_WASTE: a Seq Scan's filter removes >= 90% of the rows it reads,
  >= 1,000 rows -> warning
- INDEX_FILTER_WASTE: an index / bitmap scan's Filter removes >= 50% of the rows the
  index found, >= 1,000 rows -> warning
- SORT_SPILL: a Sort or Incremental Sort used disk, in the leader or in a parallel
  worker -> warning
- HASH_SPILL: a Hash or HashAggregate needed more than one batch, in the leader or in a
  parallel worker -> warning
- LOSSY_BITMAP: a Bitmap Heap Scan had lossy heap blocks -> warning
- HEAP_FETCHES: an Index Only Scan fetched >= 10% of its rows (>= 100) from the heap -> info
- NESTED_LOOP_MANY_LOOPS: a Nested Loop ran its inner side (or a correlated SubPlan ran)
  >= 1,000 times (a Memoize's cache misses count, not its hits), and that took >= 1 ms and
  >= 20% of execution -> warning; when only PostgreSQL's rounding of per-loop times
  (0.001 ms) leaves room for that much, or times were not measured (TIMING OFF) -> info,
  saying the figure is a lower bound
- WORKERS_NOT_LAUNCHED: a Gather launched fewer workers than planned -> warning
- JIT_OVERHEAD: JIT took >= 10% of execution and >= 10 ms -> warning
- TEMP_IO: the statement read + wrote >= 1 MB of temp files -> warning
- LARGE_OFFSET: a Limit read and threw away >= 1,000 rows (OFFSET) -> warning
- PLANNING_OVER_EXECUTION: planning took longer than execution and >= 5 ms -> info
- TRIGGER_OVERHEAD: triggers took >= 10% of execution and >= 1 ms -> warning

The numbers follow common practice: pev2 and explain.depesz.com flag row estimates off
by 10x and more and colour nodes by their share of exclusive time; pganalyze flags
filters that discard most rows, disk sorts/hashes, lossy bitmaps and heap fetches.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any, Protocol, TypeVar

import pandas as pd

from rollbook.explain.metrics import HALF_MICROSECOND_MS
from rollbook.explain.params import FindingThresholds
from rollbook.explain.tree import Node, Plan


class Analysis(Protocol):
    """What the rules read (`rollbook.explain.analysis.Analysis` has it)."""

    plan: Plan
    nodes: pd.DataFrame
    summary: dict[str, Any]


BLOCK_BYTES = 8192
SEVERITIES = ("info", "warning", "critical")

_HOT_NODE_ACTIONS = {
    "Seq Scan": "an index matching the filter would let PostgreSQL read only the rows it needs",
    "Sort": "an index in the ORDER BY order returns rows pre-sorted (keyset pagination)",
    "Hash Join": "check the row estimates of both inputs; an index could allow a nested loop",
    "Bitmap Heap Scan": "a more selective or a covering index reads fewer heap pages",
}


@dataclass(frozen=True)
class Finding:
    code: str
    severity: str
    node_id: int | None
    message: str
    action: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


Rule = Callable[[Analysis, FindingThresholds], Iterator[Finding]]
RULES: list[Rule] = []


def rule(func: Rule) -> Rule:
    RULES.append(func)
    return func


def _rows(analysis: Analysis, mask: pd.Series) -> Iterator[pd.Series]:
    for _, row in analysis.nodes[mask].iterrows():
        yield row


def _n(value: float) -> str:
    return f"{value:,.0f}"


@rule
def hot_node(a: Analysis, t: FindingThresholds) -> Iterator[Finding]:
    execution = a.plan.execution_ms
    if not execution:
        return
    nodes = a.nodes
    hot = (nodes["exclusive_ms"] >= t.hot_node_share * execution) & (
        nodes["exclusive_ms"] >= t.hot_node_min_ms
    )
    for row in _rows(a, hot):
        action = _HOT_NODE_ACTIONS.get(
            row["node_type"], "start tuning here: look at this node's rows, loops and buffers"
        )
        yield Finding(
            "HOT_NODE",
            "info",
            int(row["node_id"]),
            f"{row['label']} takes {row['exclusive_share']:.0%} of the execution time "
            f"({row['exclusive_ms']:.1f} ms of {execution:.1f} ms, its own work).",
            action,
        )


def _misestimated(a: Analysis, t: FindingThresholds) -> pd.DataFrame:
    """Rows off by the threshold factor, less what the plan's shape explains."""
    nodes = a.nodes
    larger = nodes[["plan_rows", "actual_rows"]].max(axis=1) * nodes["loops"]
    expected = ((nodes["estimate_direction"] == "over") & nodes["stopped_early"]) | (
        (nodes["estimate_direction"] == "under") & nodes["rereads"]
    )
    off = (
        (nodes["estimate_factor"] >= t.misestimate_factor)
        & (larger >= t.misestimate_min_rows)
        & ~expected
    )
    return nodes[off]


def _inherited_from(node_id: int, off: pd.DataFrame, a: Analysis, factor: float) -> int | None:
    """The misestimated child whose error this node only carries on (no new `factor`x)."""
    row = off.loc[node_id]
    children = [
        c.id
        for c in a.plan.node(node_id).children
        if c.parent_relationship not in ("InitPlan", "SubPlan")  # rows flow from inputs only
        and c.id in off.index
        and off.at[c.id, "estimate_direction"] == row["estimate_direction"]
        and row["estimate_factor"] < off.at[c.id, "estimate_factor"] * factor
    ]
    return max(children, key=lambda c: off.at[c, "estimate_factor"], default=None)


@rule
def misestimate(a: Analysis, t: FindingThresholds) -> Iterator[Finding]:
    off = _misestimated(a, t)
    source: dict[int, int] = {}
    for node_id in sorted(off.index, reverse=True):  # children (higher ids) first
        child = _inherited_from(node_id, off, a, t.misestimate_factor)
        source[node_id] = node_id if child is None else source[child]
    for node_id, row in off.iterrows():
        if source[node_id] != node_id:
            continue
        factor = row["estimate_factor"]
        more_or_fewer = "more" if row["estimate_direction"] == "under" else "fewer"
        heirs = [
            f"#{n} {off.at[n, 'label']}" for n in off.index if n != node_id and source[n] == node_id
        ]
        carried = f" The error carries over to {', '.join(heirs)}." if heirs else ""
        yield Finding(
            "MISESTIMATE",
            "critical" if factor >= 1000 else "warning",
            int(node_id),
            f"{row['label']}: {factor:,.0f}x {more_or_fewer} rows than estimated "
            f"({_n(row['actual_rows'])} actual vs {_n(row['plan_rows'])} estimated per loop)."
            + carried,
            "refresh statistics (ANALYZE); for correlated columns CREATE STATISTICS "
            "(dependencies, mcv); raise the column's statistics target for skewed data",
        )


def _filter_waste(
    a: Analysis, types: set[str], share: float, min_rows: int
) -> Iterator[tuple[pd.Series, float]]:
    nodes = a.nodes
    read = nodes["rows_total"] + nodes["rows_removed_by_filter"]
    wasteful = (
        nodes["node_type"].isin(types)
        & (nodes["rows_removed_by_filter"] >= min_rows)
        & (nodes["rows_removed_by_filter"] >= share * read)
    )
    for row in _rows(a, wasteful):
        total = row["rows_total"] + row["rows_removed_by_filter"]
        yield row, row["rows_removed_by_filter"] / total


@rule
def seq_scan_filter_waste(a: Analysis, t: FindingThresholds) -> Iterator[Finding]:
    for row, share in _filter_waste(a, {"Seq Scan"}, t.filter_waste_share, t.filter_waste_min_rows):
        yield Finding(
            "SEQ_SCAN_FILTER_WASTE",
            "warning",
            int(row["node_id"]),
            f"{row['label']} reads {_n(row['rows_total'] + row['rows_removed_by_filter'])} "
            f"rows and its filter throws away {share:.0%} of them.",
            "index the filtered columns so only matching rows are read",
        )


@rule
def index_filter_waste(a: Analysis, t: FindingThresholds) -> Iterator[Finding]:
    types = {"Index Scan", "Index Only Scan", "Bitmap Heap Scan"}
    for row, share in _filter_waste(a, types, t.index_filter_waste_share, t.filter_waste_min_rows):
        yield Finding(
            "INDEX_FILTER_WASTE",
            "warning",
            int(row["node_id"]),
            f"{row['label']}: the index finds "
            f"{_n(row['rows_total'] + row['rows_removed_by_filter'])} rows, then a Filter "
            f"throws away {share:.0%} of them.",
            "move the filtered condition into the index (add the column, or write a keyset "
            "cursor as a row comparison `(a, b) < (x, y)` so it becomes an Index Cond)",
        )


def _node_rows(a: Analysis, node_types: set[str]) -> Iterator[Node]:
    for node in a.plan.nodes:
        if node.node_type in node_types:
            yield node


def _sort_spills(details: dict[str, Any]) -> Iterator[tuple[str, float]]:
    """(sort method, kB on disk) of each spill in a node's (or one worker's) sort details."""
    method = details.get("Sort Method", "")
    if details.get("Sort Space Type") == "Disk" or "external" in method:
        yield method or "external sort", float(details.get("Sort Space Used", 0))
    for groups in ("Full-sort Groups", "Pre-sorted Groups"):  # Incremental Sort
        group = details.get(groups) or {}
        disk = group.get("Sort Space Disk")
        if disk:
            methods = ", ".join(group.get("Sort Methods Used", [])) or "external sort"
            yield f"{methods}, {groups.lower()}", float(disk.get("Peak Sort Space Used", 0))


_Spill = TypeVar("_Spill")


def _in_workers(
    node: Node, spills: Callable[[dict[str, Any]], Iterator[_Spill]]
) -> Iterator[tuple[str, _Spill]]:
    """Each spill of the node itself (the leader) and of each parallel worker."""
    for spill in spills(node.raw):
        yield "", spill
    for worker in node.get("Workers") or ():
        for spill in spills(worker):
            yield f" in worker {worker.get('Worker Number', '?')}", spill


@rule
def sort_spill(a: Analysis, t: FindingThresholds) -> Iterator[Finding]:
    for node in _node_rows(a, {"Sort", "Incremental Sort"}):
        spills = [
            f"{_n(kb)} kB{where} ({method})"
            for where, (method, kb) in _in_workers(node, _sort_spills)
        ]
        if spills:
            yield Finding(
                "SORT_SPILL",
                "warning",
                node.id,
                f"{node.label} spilled to disk: {'; '.join(spills)}.",
                "avoid the sort with an index in the ORDER BY order, or raise work_mem "
                f"for this query (now {a.plan.settings.get('work_mem', 'the default')})",
            )


def _hash_batches(details: dict[str, Any]) -> Iterator[tuple[int, object]]:
    batches = int(details.get("Hash Batches", details.get("HashAgg Batches", 1)) or 1)
    if batches > 1:
        yield batches, details.get("Original Hash Batches")


@rule
def hash_spill(a: Analysis, t: FindingThresholds) -> Iterator[Finding]:
    for node in _node_rows(a, {"Hash", "Aggregate"}):
        spills = []
        for where, (batches, original) in _in_workers(node, _hash_batches):
            grew = f", planned {original}" if original and original != batches else ""
            spills.append(f"{batches} batches{where}{grew}")
        if spills:
            yield Finding(
                "HASH_SPILL",
                "warning",
                node.id,
                f"{node.label} needed {'; '.join(spills)}: the hash table did not fit in memory.",
                "raise work_mem (or hash_mem_multiplier) for this query, or make the hashed "
                "side smaller",
            )


@rule
def lossy_bitmap(a: Analysis, t: FindingThresholds) -> Iterator[Finding]:
    for node in _node_rows(a, {"Bitmap Heap Scan"}):
        lossy = int(node.get("Lossy Heap Blocks", 0))
        if lossy > 0:
            yield Finding(
                "LOSSY_BITMAP",
                "warning",
                node.id,
                f"{node.label}: {_n(lossy)} heap blocks were lossy, so every row on them was "
                f"rechecked ({_n(node.per_loop_total('Rows Removed by Index Recheck'))} removed).",
                "raise work_mem so the bitmap stays exact, or use a more selective index",
            )


@rule
def heap_fetches(a: Analysis, t: FindingThresholds) -> Iterator[Finding]:
    for node in _node_rows(a, {"Index Only Scan"}):
        fetches = float(node.get("Heap Fetches", 0))
        if fetches >= t.heap_fetches_min and fetches >= t.heap_fetches_share * node.rows_total:
            yield Finding(
                "HEAP_FETCHES",
                "info",
                node.id,
                f"{node.label} went to the table for {_n(fetches)} of {_n(node.rows_total)} "
                "rows: the visibility map is not up to date.",
                f"VACUUM {node.relation or 'the table'} (and check autovacuum keeps up)",
            )


def _repeated(node: Node) -> tuple[Node, Node, float] | None:
    """(the node that repeats it, the repeated inner side, times it really ran) or None."""
    parent = node.parent
    if parent is None or node.loops is None:
        return None
    if node.parent_relationship == "SubPlan":  # a correlated sub-query, once per outer row
        return parent, node, node.loops
    if parent.node_type != "Nested Loop" or node.parent_relationship != "Inner":
        return None
    if node.node_type == "Memoize":  # cache hits do not run the inner side again
        return parent, node, float(node.get("Cache Misses", node.loops))
    return parent, node, node.loops


def _time_range(node: Node, parent: Node) -> tuple[float, float]:
    """What the node's total time can be, given PostgreSQL's rounding of per-loop times.

    The upper end is also bounded by its parent's time less its siblings'.
    """
    error = HALF_MICROSECOND_MS * (node.loops or 0) / node.processes
    room = parent.inclusive_ms - sum(c.inclusive_ms for c in parent.children if c is not node)
    return max(node.inclusive_ms - error, 0.0), min(node.inclusive_ms + error, max(room, 0.0))


def _total_time_text(node: Node, low: float, high: float) -> str:
    if node.inclusive_ms == 0 and high > 0:
        return (
            "its time rounds to 0.000 ms per loop, so the total PostgreSQL reports (0.0 ms) "
            f"is a lower bound: it may be up to {high:,.0f} ms"
        )
    if high - low >= 0.1 * node.inclusive_ms:
        return (
            f"{node.inclusive_ms:.1f} ms in total, between {low:.1f} and {high:.1f} ms as "
            "PostgreSQL rounds per-loop times to 0.001 ms"
        )
    return f"{node.inclusive_ms:.1f} ms in total"


@rule
def nested_loop_many_loops(a: Analysis, t: FindingThresholds) -> Iterator[Finding]:
    enough = max(t.nested_loop_min_ms, t.nested_loop_min_share * (a.plan.execution_ms or 0))
    for node in a.plan.nodes:
        repeated = _repeated(node)
        if repeated is None or repeated[2] < t.nested_loop_min_loops:
            continue
        outer, inner, runs = repeated
        timed = not math.isnan(inner.inclusive_ms)
        low, high = _time_range(inner, outer) if timed else (0.0, math.inf)
        if high < enough:
            continue
        took = _total_time_text(inner, low, high) if timed else "its time was not measured"
        hits = (
            f" ({_n(inner.get('Cache Hits', 0))} cache hits)"
            if inner.node_type == "Memoize"
            else ""
        )
        if inner.parent_relationship == "SubPlan":
            what = (
                f"{inner.subplan_name} ({inner.label}) ran {_n(runs)} times, once per row "
                f"of {outer.label}"
            )
            action = (
                "rewrite the correlated sub-query as a join (or LATERAL join) so PostgreSQL can "
                "hash or merge it, or index the columns it filters on"
            )
        else:
            what = f"{outer.label} ran {inner.label} {_n(runs)} times{hits}"
            action = (
                "check the outer side's row estimate; a hash join or a better index on the "
                "inner side may do fewer lookups"
            )
        yield Finding(
            "NESTED_LOOP_MANY_LOOPS",
            "warning" if low >= enough else "info",
            inner.id if inner.parent_relationship == "SubPlan" else outer.id,
            f"{what}: {took}.",
            action,
        )


@rule
def workers_not_launched(a: Analysis, t: FindingThresholds) -> Iterator[Finding]:
    for node in _node_rows(a, {"Gather", "Gather Merge"}):
        planned, launched = node.get("Workers Planned"), node.get("Workers Launched")
        if planned is not None and launched is not None and launched < planned:
            yield Finding(
                "WORKERS_NOT_LAUNCHED",
                "warning",
                node.id,
                f"{node.label} planned {planned} parallel workers but launched {launched}.",
                "raise max_parallel_workers / max_worker_processes, or run fewer parallel "
                "queries at once",
            )


@rule
def jit_overhead(a: Analysis, t: FindingThresholds) -> Iterator[Finding]:
    jit, execution = a.plan.jit, a.plan.execution_ms
    if jit and execution and jit.total_ms >= max(t.jit_share * execution, t.jit_min_ms):
        yield Finding(
            "JIT_OVERHEAD",
            "warning",
            None,
            f"JIT compilation took {jit.total_ms:.1f} ms of {execution:.1f} ms "
            f"({jit.functions} functions).",
            "raise jit_above_cost (or set jit = off) for short OLTP queries",
        )


@rule
def temp_io(a: Analysis, t: FindingThresholds) -> Iterator[Finding]:
    blocks = a.summary["temp_read_blocks"] + a.summary["temp_written_blocks"]
    megabytes = blocks * BLOCK_BYTES / 1e6
    if blocks and megabytes >= t.temp_io_min_mb:
        worst = a.nodes["exclusive_temp_blocks"].idxmax()
        yield Finding(
            "TEMP_IO",
            "warning",
            int(worst),
            f"the statement read and wrote {megabytes:.1f} MB of temporary files, most in "
            f"{a.plan.node(int(worst)).label}.",
            "raise work_mem for this query or avoid the sort / hash that spills",
        )


@rule
def large_offset(a: Analysis, t: FindingThresholds) -> Iterator[Finding]:
    for node in _node_rows(a, {"Limit"}):
        source = [c for c in node.children if c.parent_relationship == "Outer"]
        if not source or node.loops is None:
            continue
        discarded = source[0].rows_total - node.rows_total
        if discarded >= t.large_offset_min_rows:
            yield Finding(
                "LARGE_OFFSET",
                "warning",
                node.id,
                f"{node.label} read {_n(source[0].rows_total)} rows to return "
                f"{_n(node.rows_total)}: {_n(discarded)} were skipped by OFFSET.",
                "page with a keyset cursor (WHERE (created_at, id) < (…)) instead of OFFSET",
            )


@rule
def planning_over_execution(a: Analysis, t: FindingThresholds) -> Iterator[Finding]:
    planning, execution = a.plan.planning_ms, a.plan.execution_ms
    if planning is None or execution is None:
        return
    if planning > execution and planning >= t.planning_min_ms:
        yield Finding(
            "PLANNING_OVER_EXECUTION",
            "info",
            None,
            f"planning took {planning:.1f} ms, longer than execution ({execution:.1f} ms).",
            "use prepared statements (plan once), or simplify the query / lower "
            "join_collapse_limit for many-table joins",
        )


@rule
def trigger_overhead(a: Analysis, t: FindingThresholds) -> Iterator[Finding]:
    execution, triggers = a.plan.execution_ms, a.plan.triggers
    total = a.plan.trigger_ms
    if execution and triggers and total >= max(t.trigger_share * execution, t.trigger_min_ms):
        slowest = max(triggers, key=lambda tr: tr.time_ms)
        yield Finding(
            "TRIGGER_OVERHEAD",
            "warning",
            None,
            f"triggers took {total:.1f} ms of {execution:.1f} ms; slowest: {slowest.name} "
            f"({slowest.time_ms:.1f} ms, {slowest.calls:,} calls).",
            "foreign-key triggers need an index on the referencing columns; batch the rows "
            "or move trigger work out of the statement",
        )


def find(analysis: Analysis, thresholds: FindingThresholds) -> list[Finding]:
    """All findings of a plan, most severe first, then in node order."""
    found = [f for check in RULES for f in check(analysis, thresholds)]
    return sorted(found, key=lambda f: (-SEVERITIES.index(f.severity), f.node_id or 0))


def findings_frame(findings: list[Finding]) -> pd.DataFrame:
    columns = ["code", "severity", "node_id", "message", "action"]
    return pd.DataFrame([f.as_dict() for f in findings], columns=columns)
