"""The typed plan tree: `Node`, `Plan` and PostgreSQL's vocabulary for plan nodes.

`rollbook.explain.parse` builds it from EXPLAIN output; `rollbook.explain.metrics` fills
in each node's times and buffers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from rollbook.errors import InputError

# Buffer counters as PostgreSQL names them; totals over all loops, children included.
BUFFER_KEYS = {
    "shared_hit_blocks": "Shared Hit Blocks",
    "shared_read_blocks": "Shared Read Blocks",
    "shared_dirtied_blocks": "Shared Dirtied Blocks",
    "shared_written_blocks": "Shared Written Blocks",
    "local_hit_blocks": "Local Hit Blocks",
    "local_read_blocks": "Local Read Blocks",
    "local_dirtied_blocks": "Local Dirtied Blocks",
    "local_written_blocks": "Local Written Blocks",
    "temp_read_blocks": "Temp Read Blocks",
    "temp_written_blocks": "Temp Written Blocks",
}
# I/O timings (track_io_timing): PostgreSQL 16+ names first, then the older names.
IO_TIME_KEYS = {
    "shared_io_read_ms": ("Shared I/O Read Time", "I/O Read Time"),
    "shared_io_write_ms": ("Shared I/O Write Time", "I/O Write Time"),
    "local_io_read_ms": ("Local I/O Read Time",),
    "local_io_write_ms": ("Local I/O Write Time",),
    "temp_io_read_ms": ("Temp I/O Read Time",),
    "temp_io_write_ms": ("Temp I/O Write Time",),
}
_AGGREGATE_LABELS = {
    "Hashed": "HashAggregate",
    "Sorted": "GroupAggregate",
    "Mixed": "MixedAggregate",
}
PARALLEL_GATHERS = ("Gather", "Gather Merge")
# Every node kind EXPLAIN prints (PostgreSQL 12–17): its Node Types and the names its text
# format uses instead (HashAggregate, Insert, ...), without Parallel / Partial / Finalize.
NODE_KINDS = frozenset(
    {"Result", "ProjectSet", "ModifyTable", "Insert", "Update", "Delete", "Merge",
     "Foreign Insert", "Foreign Update", "Foreign Delete", "Append", "Merge Append",
     "Recursive Union", "BitmapAnd", "BitmapOr", "Nested Loop", "Merge Join", "Hash Join",
     "Seq Scan", "Sample Scan", "Gather", "Gather Merge", "Index Scan", "Index Only Scan",
     "Bitmap Index Scan", "Bitmap Heap Scan", "Tid Scan", "Tid Range Scan", "Subquery Scan",
     "Function Scan", "Table Function Scan", "Values Scan", "CTE Scan",
     "Named Tuplestore Scan", "WorkTable Scan", "Foreign Scan", "Custom Scan", "Materialize",
     "Memoize", "Sort", "Incremental Sort", "Group", "Aggregate", "GroupAggregate",
     "HashAggregate", "MixedAggregate", "WindowAgg", "Unique", "SetOp", "HashSetOp",
     "LockRows", "Limit", "Hash"}
)  # fmt: skip


class PlanError(InputError, ValueError):
    """The input is not an EXPLAIN (FORMAT JSON) plan."""


@dataclass(slots=True, eq=False)
class Node:
    """One plan node. Times are milliseconds; `*_per_loop` values are as PostgreSQL reports."""

    id: int
    parent: Node | None
    depth: int
    node_type: str
    label: str
    raw: dict[str, Any]
    children: list[Node] = field(default_factory=list)
    # filled by rollbook.explain.metrics
    processes: int = 1
    inclusive_ms: float = math.nan
    exclusive_ms: float = math.nan
    exclusive_buffers: dict[str, float] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.raw.get(key, default)

    @property
    def relation(self) -> str | None:
        return self.raw.get("Relation Name")

    @property
    def index(self) -> str | None:
        return self.raw.get("Index Name")

    @property
    def parent_relationship(self) -> str | None:
        return self.raw.get("Parent Relationship")

    @property
    def subplan_name(self) -> str | None:
        return self.raw.get("Subplan Name")

    @property
    def parallel_aware(self) -> bool:
        return bool(self.raw.get("Parallel Aware"))

    @property
    def loops(self) -> float | None:
        """Loops over all processes; 0 = never executed; None = not analysed."""
        return self.raw.get("Actual Loops")

    @property
    def never_executed(self) -> bool:
        return self.loops == 0

    @property
    def plan_rows(self) -> float:
        return float(self.raw.get("Plan Rows", math.nan))

    @property
    def actual_rows(self) -> float:
        """Rows per loop (PostgreSQL's average), NaN when not analysed."""
        return float(self.raw.get("Actual Rows", math.nan))

    @property
    def rows_total(self) -> float:
        return self.actual_rows * self.loops if self.loops is not None else math.nan

    def per_loop_total(self, key: str) -> float:
        """A per-loop counter (e.g. `Rows Removed by Filter`) summed over all loops."""
        return float(self.raw.get(key, 0)) * (self.loops or 0)

    def buffers(self, name: str) -> float:
        return float(self.raw.get(BUFFER_KEYS[name], 0))

    def io_time(self, name: str) -> float:
        return float(sum(self.raw.get(key, 0) for key in IO_TIME_KEYS[name]))

    def descendants(self) -> list[Node]:
        """This node and everything below it, depth-first."""
        found, stack = [], [self]
        while stack:
            node = stack.pop()
            found.append(node)
            stack.extend(reversed(node.children))
        return found


@dataclass(slots=True)
class Trigger:
    name: str
    relation: str | None
    time_ms: float
    calls: int
    constraint: str | None = None  # foreign keys: an AFTER trigger


@dataclass(slots=True)
class Jit:
    functions: int
    generation_ms: float
    inlining_ms: float
    optimization_ms: float
    emission_ms: float
    total_ms: float


@dataclass(slots=True, eq=False)
class Plan:
    """A parsed plan: the node tree plus statement-level timings."""

    root: Node
    nodes: list[Node]
    planning_ms: float | None
    execution_ms: float | None
    triggers: list[Trigger]
    jit: Jit | None
    settings: dict[str, str]
    document: dict[str, Any]
    name: str = ""

    @property
    def analyzed(self) -> bool:
        """EXPLAIN ANALYZE: the nodes have actual values (with or without an Execution Time)."""
        return self.root.loops is not None

    @property
    def execution_reported(self) -> bool:
        """False when `execution_ms` is the root's actual time (auto_explain, SUMMARY OFF)."""
        return "Execution Time" in self.document

    @property
    def trigger_ms(self) -> float:
        return float(sum(t.time_ms for t in self.triggers))

    @property
    def is_parallel(self) -> bool:
        return any(n.node_type in PARALLEL_GATHERS for n in self.nodes)

    def node(self, node_id: int) -> Node:
        return self.nodes[node_id - 1]


def node_label(raw: dict[str, Any]) -> str:
    """The name EXPLAIN's text format gives a node, e.g. `Index Scan using i on messages m`."""
    node_type = raw.get("Node Type", "?")
    if node_type == "Aggregate":
        node_type = _AGGREGATE_LABELS.get(raw.get("Strategy", ""), "Aggregate")
    elif node_type == "SetOp" and raw.get("Strategy") == "Hashed":
        node_type = "HashSetOp"
    elif node_type == "ModifyTable":
        node_type = raw.get("Operation", node_type)
    if raw.get("Partial Mode") in ("Partial", "Finalize"):
        node_type = f"{raw['Partial Mode']} {node_type}"
    if raw.get("Parallel Aware"):
        node_type = f"Parallel {node_type}"
    if raw.get("Scan Direction") == "Backward":
        node_type += " Backward"
    parts = [node_type]
    if "Index Name" in raw:
        preposition = "on" if raw.get("Node Type") == "Bitmap Index Scan" else "using"
        parts.append(f"{preposition} {raw['Index Name']}")
    target = (
        raw.get("Relation Name")
        or raw.get("CTE Name")
        or raw.get("Function Name")
        or raw.get("Table Function Name")
    )
    alias = raw.get("Alias")
    if target:
        parts.append(f"on {target}")
        if alias and alias != target:
            parts.append(alias)
    elif alias and node_type.endswith("Scan"):
        parts.append(f"on {alias}")
    return " ".join(parts)
