"""A synthetic EXPLAIN ANALYZE document of any size, for benchmarks and chart tests.

UNION ALL branches of Nested Loop chains over Index Scans, with consistent times, so
that exclusive times add up to the root's time.
"""

from __future__ import annotations

from typing import Any


def _scan(table: int, ms: float) -> dict[str, Any]:
    return {
        "Node Type": "Index Scan",
        "Parent Relationship": "Inner",
        "Parallel Aware": False,
        "Index Name": f"t{table}_pkey",
        "Relation Name": f"t{table}",
        "Alias": f"t{table}",
        "Startup Cost": 0.29,
        "Total Cost": 8.3,
        "Plan Rows": 1,
        "Plan Width": 8,
        "Actual Startup Time": 0.001,
        "Actual Total Time": ms,
        "Actual Rows": 1,
        "Actual Loops": 1,
        "Index Cond": f"(id = t{table - 1}.id)",
        "Shared Hit Blocks": 3,
        "Shared Read Blocks": 0,
    }


def _join_chain(first_table: int, joins: int) -> tuple[dict[str, Any], float]:
    """A left-deep chain of `joins` Nested Loops (2 * joins + 1 nodes) and its total time."""
    node: dict[str, Any] = _scan(first_table, 0.01) | {"Node Type": "Seq Scan"}
    node.pop("Index Name")
    total = 0.01
    for table in range(first_table + 1, first_table + joins + 1):
        total += 0.01 + 0.002
        node = {
            "Node Type": "Nested Loop",
            "Parent Relationship": "Outer",
            "Parallel Aware": False,
            "Join Type": "Inner",
            "Plan Rows": 1,
            "Actual Rows": 1,
            "Actual Loops": 1,
            "Actual Startup Time": 0.001,
            "Actual Total Time": round(total, 3),
            "Shared Hit Blocks": 3 * (table - first_table + 1),
            "Shared Read Blocks": 0,
            "Plans": [node | {"Parent Relationship": "Outer"}, _scan(table, 0.01)],
        }
    return node | {"Parent Relationship": "Member"}, round(total, 3)


def synthetic_document(node_count: int, joins_per_branch: int = 10) -> list[dict[str, Any]]:
    """EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) output with about `node_count` nodes:
    an Append of UNION ALL branches, each a chain of `joins_per_branch` joins."""
    per_branch = 2 * joins_per_branch + 1
    branches = [
        _join_chain(b * (joins_per_branch + 1), joins_per_branch)
        for b in range(max((node_count - 1) // per_branch, 1))
    ]
    total = round(sum(t for _, t in branches) + 0.001 * len(branches), 3)
    root = {
        "Node Type": "Append",
        "Parallel Aware": False,
        "Plan Rows": len(branches),
        "Actual Rows": len(branches),
        "Actual Loops": 1,
        "Actual Startup Time": 0.001,
        "Actual Total Time": total,
        "Shared Hit Blocks": sum(b["Shared Hit Blocks"] for b, _ in branches),
        "Shared Read Blocks": 0,
        "Plans": [b for b, _ in branches],
    }
    return [{"Plan": root, "Planning Time": 1.0, "Triggers": [], "Execution Time": total + 0.01}]
