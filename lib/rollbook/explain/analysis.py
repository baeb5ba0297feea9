"""A plan as a table (one row per node), a statement summary, and the findings.

`analyse(plan)` is the entry point; `Analysis.nodes` is a pandas DataFrame whose columns
are documented in `NODE_COLUMNS` (and in `rollbook/explain/schema.md`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from rollbook.explain.findings import Finding, find, findings_frame
from rollbook.explain.metrics import after_trigger_ms
from rollbook.explain.params import FindingThresholds
from rollbook.explain.tree import BUFFER_KEYS, IO_TIME_KEYS, Node, Plan

# Nodes that read a table (their rows + rows removed = rows examined).
TABLE_SCANS = frozenset(
    {"Seq Scan", "Index Scan", "Index Only Scan", "Bitmap Heap Scan", "Tid Scan", "Tid Range Scan",
     "Sample Scan"}
)  # fmt: skip
# Nodes that read all their input before returning a row: nothing above them stops their input.
_BLOCKING = frozenset({"Sort", "Hash"})
_BLOCKING_STRATEGIES = frozenset({"Plain", "Hashed", "Mixed"})  # Aggregate / SetOp
# Nodes that report no rows of their own (a bitmap is not rows).
_NO_ROWS = frozenset({"BitmapAnd", "BitmapOr"})
# Join types whose result keeps every row of one side: that side is always read to its end.
_PRESERVED_SIDE = {"Left": {"Outer"}, "Anti": {"Outer"}, "Right": {"Inner"},
                   "Full": {"Outer", "Inner"}}  # fmt: skip

NODE_COLUMNS = {
    "node_id": "1..n in the order EXPLAIN prints nodes",
    "parent_id": "parent node (NaN for the root)",
    "depth": "0 for the root",
    "label": "as EXPLAIN's text format names it, e.g. 'Index Scan using i on messages'",
    "node_type": "PostgreSQL's Node Type",
    "relation": "table scanned, if any",
    "index": "index used, if any",
    "parent_relationship": "Outer / Inner / InitPlan / SubPlan / Member / ...",
    "subplan_name": "e.g. 'CTE recent', 'InitPlan 1 (returns $0)'",
    "never_executed": "the node never ran (loops = 0)",
    "loops": "loops over all processes",
    "processes": "processes running the node at once (workers + leader under a Gather)",
    "plan_rows": "estimated rows per loop",
    "actual_rows": "actual rows per loop",
    "rows_total": "actual rows over all loops",
    "estimate_factor": "max(actual/estimated, estimated/actual) per loop (>= 1)",
    "estimate_direction": "under (more rows than estimated), over, or exact",
    "stopped_early": "something above stopped reading it (Limit, semi-join, a join whose other "
    "side ran out, a Run Condition, a stopped CTE Scan): fewer rows than estimated is expected",
    "rereads": "inner side of a Merge Join: its rows count rows re-read after mark/restore",
    "inclusive_ms": "wall-clock time of the node and everything it ran",
    "exclusive_ms": "inclusive minus what its children (and sub-plans) took",
    "exclusive_share": "exclusive_ms / execution time",
    "rows_removed_by_filter": "over all loops (Filter and Join Filter)",
    "rows_removed_by_recheck": "over all loops (lossy bitmap / index recheck)",
    "heap_fetches": "index-only scan rows fetched from the heap",
    **{k: "inclusive, over all loops (as PostgreSQL reports buffers)" for k in BUFFER_KEYS},
    "exclusive_shared_blocks": "shared hit + read of this node alone",
    "exclusive_temp_blocks": "temp read + written of this node alone",
    **{k: "inclusive I/O time (track_io_timing)" for k in IO_TIME_KEYS},
    "startup_cost": "planner cost",
    "total_cost": "planner cost",
}


def _blocking(node: Node) -> bool:
    if node.node_type in _BLOCKING:
        return True
    return node.node_type in ("Aggregate", "SetOp") and node.get("Strategy") in _BLOCKING_STRATEGIES


def _join_reads(join: Node, side: Node) -> bool | None:
    """Does `join` stop reading `side` early (True), read it to the end (False), or read it
    as far as the join itself is read (None)?"""
    join_type = join.get("Join Type", "Inner")
    inner = side.parent_relationship == "Inner"
    if side.parent_relationship in _PRESERVED_SIDE.get(join_type, ()):
        return None
    if join.node_type == "Merge Join":  # stops when the other side runs out
        return True
    if join.node_type == "Hash Join":  # the hash table is built whole; if empty, ends the join
        if inner:
            return False
        hashed = next((c for c in join.children if c.parent_relationship == "Inner"), None)
        return True if hashed is not None and hashed.rows_total == 0 else None
    if not inner:
        return None
    # Nested Loop: the inner side stops at the first match of a semi / anti / unique join;
    # otherwise each of its loops runs to the end (only the last one can be cut short)
    if join_type in ("Semi", "Anti") or join.get("Inner Unique") is True:
        return True
    return None if (side.loops or 0) <= 1 else False


def stopped_early(node: Node, known: dict[int, bool] | None = None) -> bool:
    """True when what reads this node may stop before it is exhausted.

    `known` remembers the answers for a plan's nodes (each one builds on its parent's).
    """
    known = {} if known is None else known
    if node.id not in known:
        known[node.id] = _stopped_early(node, known)
    return known[node.id]


def _stopped_early(node: Node, known: dict[int, bool]) -> bool:
    parent = node.parent
    if node.get("Run Condition"):  # a WindowAgg that stops once its condition fails
        return True
    if parent is None:
        return False
    if node.parent_relationship == "InitPlan":
        return _cte_stopped(node, known)
    if node.parent_relationship == "SubPlan" or _blocking(parent):
        return False
    if parent.node_type == "Limit":
        return True
    reads = _join_reads(parent, node) if "Join Type" in parent.raw else None
    return stopped_early(parent, known) if reads is None else reads


def _cte_stopped(init: Node, known: dict[int, bool]) -> bool:
    """A CTE is read by its CTE Scans: stopped early when every one of them was."""
    name = init.subplan_name or ""
    if not name.startswith("CTE "):
        return False
    root = init
    while root.parent is not None:
        root = root.parent
    scans = [
        n for n in root.descendants() if n.node_type == "CTE Scan" and n.get("CTE Name") == name[4:]
    ]
    return bool(scans) and all(stopped_early(scan, known) for scan in scans)


def rereads(node: Node) -> bool:
    """The inner side of a Merge Join counts the rows it re-reads after mark/restore."""
    parent = node.parent
    return (
        parent is not None
        and parent.node_type == "Merge Join"
        and node.parent_relationship == "Inner"
    )


def estimate(node: Node) -> tuple[float, str]:
    """Row-estimate factor (>= 1) and direction, per loop."""
    actual, planned = node.actual_rows, node.plan_rows
    if (
        node.never_executed
        or node.node_type in _NO_ROWS
        or math.isnan(actual)
        or math.isnan(planned)
    ):
        return math.nan, ""
    factor = max(actual, 1.0) / max(planned, 1.0)
    if factor == 1.0:
        return 1.0, "exact"
    return (factor, "under") if factor > 1 else (1 / factor, "over")


def _row(node: Node, execution_ms: float | None, stopped: dict[int, bool]) -> dict[str, Any]:
    factor, direction = estimate(node)
    removed = node.per_loop_total("Rows Removed by Filter") + node.per_loop_total(
        "Rows Removed by Join Filter"
    )
    eb = node.exclusive_buffers
    return {
        "node_id": node.id,
        "parent_id": node.parent.id if node.parent else math.nan,
        "depth": node.depth,
        "label": node.label,
        "node_type": node.node_type,
        "relation": node.relation,
        "index": node.index,
        "parent_relationship": node.parent_relationship,
        "subplan_name": node.subplan_name,
        "never_executed": node.never_executed,
        "loops": node.loops if node.loops is not None else math.nan,
        "processes": node.processes,
        "plan_rows": node.plan_rows,
        "actual_rows": node.actual_rows,
        "rows_total": node.rows_total,
        "estimate_factor": factor,
        "estimate_direction": direction,
        "stopped_early": stopped_early(node, stopped),
        "rereads": rereads(node),
        "inclusive_ms": node.inclusive_ms,
        "exclusive_ms": node.exclusive_ms,
        "exclusive_share": node.exclusive_ms / execution_ms if execution_ms else math.nan,
        "rows_removed_by_filter": removed,
        "rows_removed_by_recheck": node.per_loop_total("Rows Removed by Index Recheck"),
        "heap_fetches": float(node.get("Heap Fetches", 0)),
        **{key: node.buffers(key) for key in BUFFER_KEYS},
        "exclusive_shared_blocks": eb["shared_hit_blocks"] + eb["shared_read_blocks"],
        "exclusive_temp_blocks": eb["temp_read_blocks"] + eb["temp_written_blocks"],
        **{key: node.io_time(key) for key in IO_TIME_KEYS},
        "startup_cost": float(node.get("Startup Cost", math.nan)),
        "total_cost": float(node.get("Total Cost", math.nan)),
    }


def nodes_frame(plan: Plan) -> pd.DataFrame:
    """One row per node, columns as in NODE_COLUMNS."""
    stopped: dict[int, bool] = {}
    rows = [_row(node, plan.execution_ms, stopped) for node in plan.nodes]
    return pd.DataFrame(rows, columns=list(NODE_COLUMNS)).set_index("node_id", drop=False)


def rows_examined(frame: pd.DataFrame) -> float:
    """Rows that table scans read: returned plus removed by filters and rechecks."""
    scans = frame[frame["node_type"].isin(TABLE_SCANS)]
    return float(
        (
            scans["rows_total"].fillna(0)
            + scans["rows_removed_by_filter"]
            + scans["rows_removed_by_recheck"]
        ).sum()
    )


def summarise(plan: Plan, frame: pd.DataFrame) -> dict[str, Any]:
    """Statement-level numbers: times, buffers of the whole plan, rows examined."""
    root = plan.root
    exclusive_sum = float(frame["exclusive_ms"].sum()) if plan.analyzed else math.nan
    execution = plan.execution_ms
    after_triggers = after_trigger_ms(plan)

    def buffers(key: str) -> float:  # NaN when EXPLAIN ran without BUFFERS
        return root.buffers(key) if "Shared Hit Blocks" in root.raw else math.nan

    return {
        "name": plan.name,
        "analyzed": plan.analyzed,
        "parallel": plan.is_parallel,
        "node_count": len(plan.nodes),
        "planning_ms": plan.planning_ms,
        "execution_ms": execution,
        "nodes_exclusive_ms": exclusive_sum,
        "execution_reported": plan.execution_reported,
        "trigger_ms": plan.trigger_ms,
        "after_trigger_ms": after_triggers,
        "jit_ms": plan.jit.total_ms if plan.jit else 0.0,
        # executor start-up / shutdown (e.g. deleting temp files): in no node
        "unattributed_ms": execution - exclusive_sum - after_triggers if execution else math.nan,
        "rows_examined": rows_examined(frame) if plan.analyzed else math.nan,
        "shared_blocks": buffers("shared_hit_blocks") + buffers("shared_read_blocks"),
        **{key: buffers(key) for key in BUFFER_KEYS},
        "wal_bytes": float(root.get("WAL Bytes", 0)),
        "settings": dict(plan.settings),
    }


@dataclass
class Analysis:
    """What `analyse` returns: the node table, the summary and the findings."""

    plan: Plan
    nodes: pd.DataFrame
    summary: dict[str, Any]
    findings: list[Finding] = field(default_factory=list)

    def findings_frame(self) -> pd.DataFrame:
        return findings_frame(self.findings)


def analyse(plan: Plan, thresholds: FindingThresholds | None = None) -> Analysis:
    """Node table, summary and findings of a parsed plan."""
    frame = nodes_frame(plan)
    analysis = Analysis(plan=plan, nodes=frame, summary=summarise(plan, frame))
    analysis.findings = find(analysis, thresholds or FindingThresholds())
    return analysis
