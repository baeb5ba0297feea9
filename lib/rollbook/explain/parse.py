"""Parse PostgreSQL 12–17 `EXPLAIN` output (FORMAT JSON, or TEXT) into a typed node tree.

`parse_plan(document)` accepts what EXPLAIN returns (a one-element list), the element
itself (also as auto_explain logs it), JSON text — as psql prints it too, framing and all —,
a TEXT-format plan (`rollbook.explain.text_format`) or a path to a file. Nodes are numbered
1..n in depth-first order (the order `EXPLAIN` prints them). Per-node metrics (inclusive /
exclusive time, buffers) are attributed by `rollbook.explain.metrics` as part of parsing.

A plan made with actual times but without `Execution Time` (auto_explain, `SUMMARY OFF`)
is analysed all the same: its execution time is the root node's actual time.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from rollbook.explain.metrics import attribute
from rollbook.explain.pasted import json_document
from rollbook.explain.tree import Jit, Node, Plan, PlanError, Trigger, node_label

__all__ = ["Node", "Plan", "PlanError", "load_plan", "node_label", "parse_plan"]


def _load(source: Any) -> Any:
    if isinstance(source, Path):
        try:
            source = source.read_text()
        except OSError as exc:
            raise PlanError(f"{source}: cannot read plan file: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise PlanError(f"{source}: not a text file") from None
    if isinstance(source, bytes):
        source = source.decode("utf-8", errors="replace")
    if isinstance(source, str):
        return json_document(source)
    return source


def _statement(document: Any) -> dict[str, Any]:
    if isinstance(document, list):
        if len(document) != 1:
            raise PlanError("expected EXPLAIN output: a list with exactly one plan")
        document = document[0]
    if isinstance(document, dict) and "QUERY PLAN" in document:  # psql \gset / some GUI tools
        return _statement(document["QUERY PLAN"])
    if not isinstance(document, dict) or not isinstance(document.get("Plan"), dict):
        raise PlanError('not an EXPLAIN (FORMAT JSON) plan: no top-level "Plan" object')
    return document


def _build_tree(top: dict[str, Any]) -> list[Node]:
    nodes: list[Node] = []
    stack: list[tuple[dict[str, Any], Node | None, int]] = [(top, None, 0)]
    while stack:
        raw, parent, depth = stack.pop()
        if "Node Type" not in raw:
            raise PlanError(f'plan node without "Node Type" under node {parent and parent.id}')
        node = Node(len(nodes) + 1, parent, depth, raw["Node Type"], node_label(raw), raw)
        nodes.append(node)
        if parent is not None:
            parent.children.append(node)
        children = raw.get("Plans") or ()
        stack.extend((child, node, depth + 1) for child in reversed(children))
    return nodes


def _jit(raw: dict[str, Any] | None) -> Jit | None:
    if not raw or "Timing" not in raw:
        return None
    timing = raw["Timing"]

    def ms(key: str) -> float:
        value = timing.get(key, 0.0)
        return float(value["Total"] if isinstance(value, dict) else value)  # PG17 nests

    return Jit(
        functions=int(raw.get("Functions", 0)),
        generation_ms=ms("Generation"),
        inlining_ms=ms("Inlining"),
        optimization_ms=ms("Optimization"),
        emission_ms=ms("Emission"),
        total_ms=ms("Total"),
    )


def parse_plan(source: Any, *, name: str = "") -> Plan:
    """Parse an EXPLAIN plan (JSON document, JSON / TEXT text or a Path) into a `Plan`."""
    statement = _statement(_load(source))
    nodes = _build_tree(statement["Plan"])
    triggers = [
        Trigger(
            name=t.get("Trigger Name", "?"),
            relation=t.get("Relation"),
            time_ms=float(t.get("Time", 0.0)),
            calls=int(t.get("Calls", 0)),
            constraint=t.get("Constraint Name"),
        )
        for t in statement.get("Triggers", [])
    ]
    plan = Plan(
        root=nodes[0],
        nodes=nodes,
        planning_ms=statement.get("Planning Time"),
        execution_ms=statement.get("Execution Time"),
        triggers=triggers,
        jit=_jit(statement.get("JIT")),
        settings={k: str(v) for k, v in (statement.get("Settings") or {}).items()},
        document=statement,
        name=name,
    )
    attribute(plan)
    if plan.execution_ms is None and not math.isnan(plan.root.inclusive_ms):
        plan.execution_ms = plan.root.inclusive_ms  # auto_explain, SUMMARY OFF
    return plan


def load_plan(path: Path | str) -> Plan:
    """Read and parse a plan file (what EXPLAIN printed, in FORMAT JSON or TEXT)."""
    path = Path(path)
    return parse_plan(path, name=path.stem)
