"""A synthetic EXPLAIN ANALYZE document of any size, for benchmarks and chart tests.

A chain of Nested Loops whose inner sides are Index Scans (a many-way join), with
consistent times, so that exclusive times add up to the execution time.
"""

from __future__ import annotations


def _scan(table: int, ms: float) -> dict:
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


def synthetic_document(node_count: int) -> list[dict]:
    """EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) output of a join with `node_count` nodes."""
    joins = max((node_count - 1) // 2, 0)
    node: dict = _scan(0, 0.01) | {"Node Type": "Seq Scan", "Parent Relationship": "Outer"}
    node.pop("Index Name")
    total = 0.01
    for table in range(1, joins + 1):
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
            "Shared Hit Blocks": 3 * (table + 1),
            "Shared Read Blocks": 0,
            "Plans": [node, _scan(table, 0.01)],
        }
    node.pop("Parent Relationship")
    return [{"Plan": node, "Planning Time": 1.0, "Triggers": [], "Execution Time": total}]
