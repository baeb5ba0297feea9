"""Inclusive and exclusive time (and buffers) per node, the way pev2 / depesz attribute them.

- **Loops**: PostgreSQL reports per-loop averages; a node's inclusive time is
  `Actual Total Time × Actual Loops`.
- **Parallel workers**: below a Gather / Gather Merge, loops count every process
  (workers launched + the leader, unless `parallel_leader_participation` is off), which
  run at the same time: wall-clock inclusive time is `time × loops / processes`.
- **Never executed** nodes take 0 ms.
- **Exclusive** time is inclusive minus what the node's children took. Sub-plans are
  subtracted from the node that actually ran them:
  - a correlated SubPlan from its parent (which evaluates it per row);
  - an InitPlan from the Gather that evaluates it before starting its workers
    (`Params Evaluated`), else from the deepest node that references its output parameter
    (`$0` up to PostgreSQL 16, `(InitPlan 1).col1` from 17) — the first evaluation runs
    it there. When nothing shows a reference (e.g. only an output list uses it, shown only
    with VERBOSE), from its parent — or, when the parent's own time is too small to hold
    it, from the child whose time holds it, going down as far as needed;
  - a CTE from the CTE Scans that read it (the slowest scan first, each up to its own
    time), so the CTE's work is counted once, in the CTE's own nodes, not again in the scans.
- Buffers (already totals over loops and workers) get the same attribution.

With this, the exclusive times of a serial plan add up to its root's inclusive time,
which is the execution time minus executor start-up/shutdown and AFTER triggers.
BEFORE triggers run inside their ModifyTable node, so their time is already in it
(`after_trigger_ms` tells the two apart).
"""

from __future__ import annotations

import math
import re

from rollbook.explain.tree import BUFFER_KEYS, PARALLEL_GATHERS, Node, Plan

# PostgreSQL prints per-loop times rounded to 0.001 ms: each loop can be 0.5 µs off.
HALF_MICROSECOND_MS = 0.0005
_RETURNS = re.compile(r"returns (\$[\d,$ ]+)\)")


def _processes(plan: Plan) -> None:
    leader = 0 if plan.settings.get("parallel_leader_participation") == "off" else 1
    for node in plan.nodes:
        parent = node.parent
        if parent is None:
            node.processes = 1
        elif parent.node_type in PARALLEL_GATHERS and node.parent_relationship == "Outer":
            workers = parent.get("Workers Launched", parent.get("Workers Planned", 0))
            node.processes = max(int(workers) + leader, 1)
        elif parent.node_type in PARALLEL_GATHERS:
            node.processes = 1  # InitPlans of a Gather run in the leader only
        else:
            node.processes = parent.processes


def _inclusive(node: Node) -> float:
    loops = node.loops
    if loops == 0:
        return 0.0
    if loops is None or "Actual Total Time" not in node.raw:
        return math.nan
    return float(node.raw["Actual Total Time"]) * loops / node.processes


def _references(node: Node, pattern: re.Pattern[str]) -> bool:
    for key, value in node.raw.items():
        if key in ("Plans", "Subplan Name"):
            continue
        if isinstance(value, str) and pattern.search(value):
            return True
        if isinstance(value, list) and any(isinstance(v, str) and pattern.search(v) for v in value):
            return True
    return False


def _param_pattern(subplan_name: str) -> re.Pattern[str]:
    returns = _RETURNS.search(subplan_name)
    if returns:  # PostgreSQL <= 16: "InitPlan 1 (returns $0,$1)"
        params = re.findall(r"\$(\d+)", returns.group(1))
        return re.compile(r"\$(?:" + "|".join(params) + r")(?!\d)")
    head = subplan_name.split(" (")[0]  # PostgreSQL 17: "(InitPlan 1).col1"
    return re.compile(re.escape(f"({head})"))


def _outside(subtree_root: Node, candidates: list[Node]) -> list[Node]:
    inside = {id(n) for n in subtree_root.descendants()}
    return [n for n in candidates if id(n) not in inside]


def _cte_shares(cte: Node, scans: list[Node]) -> list[tuple[Node, float]]:
    """The CTE's time, given to its scans slowest first, each up to its own inclusive time.

    The scan that first reads a row runs the CTE for it; later scans read the stored row
    cheaply, so the slowest scan is the one that ran (most of) the CTE.
    """
    remaining = cte.inclusive_ms
    if not scans or not remaining > 0:
        return []
    shares = []
    for scan in sorted(scans, key=lambda s: s.inclusive_ms, reverse=True):
        taken = min(remaining, scan.inclusive_ms)
        if taken > 0:
            shares.append((scan, taken / cte.inclusive_ms))
        remaining -= taken
    return shares


def _hosts(child: Node) -> list[tuple[Node, float]]:
    """Which nodes' time includes this child's time, with the share each one holds."""
    parent = child.parent
    assert parent is not None
    name = child.subplan_name or ""
    if child.parent_relationship != "InitPlan":
        return [(parent, 1.0)]
    others = _outside(child, parent.descendants())
    if name.startswith("CTE "):
        cte = name[4:]
        scans = [n for n in others if n.node_type == "CTE Scan" and n.get("CTE Name") == cte]
        return _cte_shares(child, scans) or [(parent, 1.0)]
    pattern = _param_pattern(name)
    evaluators = [
        n for n in others if any(pattern.search(p) for p in n.get("Params Evaluated", ()))
    ]
    if evaluators:
        return [(evaluators[0], 1.0)]
    users = [n for n in others if _references(n, pattern)]
    if not users:
        return [(_with_room_for(child, parent), 1.0)]
    deepest = max(users, key=lambda n: n.depth)  # max() keeps the first of equal depth
    return [(deepest, 1.0)]


def _own_time(node: Node, but: Node) -> float:
    """Inclusive time less its children's (other than `but`): room for hidden work."""
    below = sum(c.inclusive_ms for c in node.children if c is not but)
    return node.inclusive_ms - below


def _with_room_for(init: Node, node: Node) -> Node:
    """`node`, or the descendant whose own time can hold the InitPlan `init` ran in it."""
    tolerance = HALF_MICROSECOND_MS * (init.loops or 0) + 0.002
    while not _own_time(node, init) + tolerance >= init.inclusive_ms:
        inputs = [c for c in node.children if c is not init and c.inclusive_ms >= init.inclusive_ms]
        if not inputs:
            break
        node = max(inputs, key=lambda c: c.inclusive_ms)
    return node


def attribute(plan: Plan) -> None:
    """Fill `processes`, `inclusive_ms`, `exclusive_ms`, `exclusive_buffers` on every node."""
    _processes(plan)
    for node in plan.nodes:
        node.inclusive_ms = _inclusive(node)
    hosted: dict[int, list[tuple[Node, float]]] = {}
    for node in plan.nodes[1:]:
        for host, share in _hosts(node):
            hosted.setdefault(host.id, []).append((node, share))
    for node in plan.nodes:
        inner = hosted.get(node.id, [])
        spent_below = sum(share * child.inclusive_ms for child, share in inner)
        node.exclusive_ms = max(node.inclusive_ms - spent_below, 0.0)
        node.exclusive_buffers = {
            key: max(node.buffers(key) - sum(s * c.buffers(key) for c, s in inner), 0.0)
            for key in BUFFER_KEYS
        }


def after_trigger_ms(plan: Plan) -> float:
    """Trigger time spent after the node tree ran (AFTER triggers), not inside a node.

    EXPLAIN lists BEFORE and AFTER triggers alike. Foreign-key (constraint) triggers are
    AFTER triggers; the others count as AFTER as far as the time outside the root node
    (execution minus the root's time) leaves room, and as BEFORE (inside the
    ModifyTable) beyond that.
    """
    if not plan.triggers or plan.execution_ms is None or math.isnan(plan.root.inclusive_ms):
        return plan.trigger_ms
    constraint = sum(t.time_ms for t in plan.triggers if t.constraint)
    outside = max(plan.execution_ms - plan.root.inclusive_ms - constraint, 0.0)
    others = plan.trigger_ms - constraint
    return float(constraint + min(others, outside))
