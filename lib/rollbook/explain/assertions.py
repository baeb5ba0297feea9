"""Plan assertions (params `explain.assertions`) evaluated to verdict checks."""

from __future__ import annotations

from rollbook.explain.analysis import nodes_frame, rows_examined
from rollbook.explain.params import PlanAssertion
from rollbook.explain.tree import Node, Plan
from rollbook.verdict import Check, compare, expect


def node_kind(node: Node) -> str:
    """The node's kind as its label shows it, without `Parallel` (e.g. `HashAggregate`)."""
    kind = node.label.split(" using ")[0].split(" on ")[0]
    return kind.removeprefix("Parallel ")


def matches(node: Node, pattern: str) -> bool:
    """`Sort`, `Seq Scan on messages`, `Parallel Seq Scan`, `Index Scan using idx` ..."""
    kind, _, target = pattern.partition(" on ")
    kind, _, index = kind.partition(" using ")
    kind = kind.strip()
    parallel_only = kind.lower().startswith("parallel ")
    kind = kind[len("parallel ") :] if parallel_only else kind
    if kind.lower() not in {node.node_type.lower(), node_kind(node).lower()}:
        return False
    if parallel_only and not node.parallel_aware:
        return False
    if index.strip() and node.index != index.strip():
        return False
    targets = {node.relation, node.get("Alias"), node.get("CTE Name"), node.index}
    return not target.strip() or target.strip() in targets


def _buffers(plan: Plan) -> float | None:
    root = plan.root
    if "Shared Hit Blocks" not in root.raw:
        return None
    return root.buffers("shared_hit_blocks") + root.buffers("shared_read_blocks")


def check_assertion(plan: Plan, assertion: PlanAssertion, prefix: str = "") -> Check:
    """One assertion -> one Check (`no data` when the plan lacks what it needs)."""
    kind, value = assertion.kind, assertion.value
    name = f"{prefix}{kind.replace('_', ' ')}: {value}"
    if kind == "uses_index":
        used = sorted({n.index for n in plan.nodes if n.index})
        return expect(name, value in used, detail=f"indexes used: {', '.join(used) or 'none'}")
    if kind == "no_node":
        found = [f"#{n.id} {n.label}" for n in plan.nodes if matches(n, value)]
        return expect(name, not found, detail="; ".join(found) or "not in the plan")
    if kind == "max_execution_ms":
        return compare(name, plan.execution_ms, "<=", value, unit="ms")
    if kind == "max_rows_examined":
        examined = rows_examined(nodes_frame(plan)) if plan.analyzed else None
        return compare(name, examined, "<=", value, unit="rows")
    return compare(name, _buffers(plan), "<=", value, unit="blocks")


def check_assertions(plan: Plan, assertions: list[PlanAssertion]) -> list[Check]:
    """Every assertion of one query's plan, named `<plan name>: <assertion>`."""
    prefix = f"{plan.name}: " if plan.name else ""
    return [check_assertion(plan, a, prefix) for a in assertions]
