"""Before/after comparison of two plans of the same query.

Nodes are matched by their label (type, index, relation, alias), the k-th occurrence
before with the k-th after. What is left over is a **shape** change: a node `removed`,
`added`, or — when a removed and an added node read the same relation — `replaced`
(e.g. `Seq Scan on messages` -> `Index Scan using ... on messages`). Metric changes
(exclusive time, rows, buffers) are reported per matched node and for the statement.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import pandas as pd

from rollbook.explain.analysis import Analysis, analyse
from rollbook.explain.tree import Node, Plan

NODE_METRICS = ("exclusive_ms", "rows_total", "exclusive_shared_blocks")
STATEMENT_METRICS = ("execution_ms", "planning_ms", "shared_blocks", "rows_examined", "node_count")


@dataclass
class PlanDiff:
    before: Analysis
    after: Analysis
    nodes: pd.DataFrame  # one row per node pair: change, ids, labels, metric before/after/delta
    statement: pd.DataFrame  # metric, before, after, delta, ratio

    @property
    def shape(self) -> pd.DataFrame:
        """Only the shape changes (added / removed / replaced nodes)."""
        return self.nodes[self.nodes["change"] != "same"]

    @property
    def shape_changed(self) -> bool:
        return not self.shape.empty


def _match(before: list[Node], after: list[Node]) -> list[tuple[str, Node | None, Node | None]]:
    waiting: dict[str, list[Node]] = defaultdict(list)
    for node in after:
        waiting[node.label].append(node)
    pairs: list[tuple[str, Node | None, Node | None]] = []
    removed = []
    for node in before:
        if waiting[node.label]:
            pairs.append(("same", node, waiting[node.label].pop(0)))
        else:
            removed.append(node)
    matched_after = {id(b) for _, _, b in pairs}
    added = [n for n in after if id(n) not in matched_after]
    for node in removed:
        partner = next((n for n in added if n.relation and n.relation == node.relation), None)
        if partner is not None:
            added.remove(partner)
            pairs.append(("replaced", node, partner))
        else:
            pairs.append(("removed", node, None))
    pairs.extend(("added", None, n) for n in added)
    return pairs


def _side(frame: pd.DataFrame, node: Node | None, prefix: str) -> dict[str, Any]:
    if node is None:
        return {f"{prefix}_id": math.nan, f"{prefix}_label": None} | {
            f"{prefix}_{m}": math.nan for m in NODE_METRICS
        }
    row = frame.loc[node.id]
    return {f"{prefix}_id": node.id, f"{prefix}_label": node.label} | {
        f"{prefix}_{m}": row[m] for m in NODE_METRICS
    }


def _in_after_order(pair: tuple[str, Node | None, Node | None]) -> tuple[float, float]:
    _, b, a = pair
    return (a.id if a else math.inf, b.id if b else math.inf)


def diff(before: Plan | Analysis, after: Plan | Analysis) -> PlanDiff:
    """Compare two plans (or their analyses)."""
    old = before if isinstance(before, Analysis) else analyse(before)
    new = after if isinstance(after, Analysis) else analyse(after)
    pairs = sorted(_match(old.plan.nodes, new.plan.nodes), key=_in_after_order)
    rows = []
    for change, b, a in pairs:
        row: dict[str, Any] = {"change": change}
        row |= _side(old.nodes, b, "before") | _side(new.nodes, a, "after")
        for metric in NODE_METRICS:
            row[f"delta_{metric}"] = row[f"after_{metric}"] - row[f"before_{metric}"]
        rows.append(row)
    statement = pd.DataFrame(
        [
            {
                "metric": m,
                "before": old.summary[m],
                "after": new.summary[m],
            }
            for m in STATEMENT_METRICS
        ]
    )
    statement["before"] = pd.to_numeric(statement["before"])
    statement["after"] = pd.to_numeric(statement["after"])
    statement["delta"] = statement["after"] - statement["before"]
    statement["ratio"] = statement["after"] / statement["before"].where(statement["before"] != 0)
    return PlanDiff(old, new, pd.DataFrame(rows), statement)
