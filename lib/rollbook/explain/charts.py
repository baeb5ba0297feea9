"""Plan charts (plotly): an exclusive-time icicle of the tree, per-node bars, a diff chart.

Large plans stay readable: the icicle shows `max_depth` levels at a time (click to zoom)
with labels cut to `label_chars`; bar charts show the `top` nodes and one "other" bar.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from rollbook.explain.analysis import Analysis, analyse
from rollbook.explain.diff import PlanDiff
from rollbook.explain.tree import Plan

BAR_METRICS = {
    "exclusive_ms": "exclusive time (ms)",
    "exclusive_shared_blocks": "shared blocks hit + read (exclusive)",
    "estimate_factor": "row estimate factor (x)",
}


def _analysis(plan: Plan | Analysis) -> Analysis:
    return plan if isinstance(plan, Analysis) else analyse(plan)


def _short(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: chars - 1] + "…"


def icicle(plan: Plan | Analysis, *, max_depth: int = 6, label_chars: int = 40) -> go.Figure:
    """The plan tree; each box's width is its node's exclusive time plus its children's."""
    analysis = _analysis(plan)
    nodes = analysis.nodes
    analysed = analysis.plan.analyzed
    values = nodes["exclusive_ms"].fillna(0) if analysed else pd.Series(1.0, index=nodes.index)
    hover = (
        "#" + nodes["node_id"].astype(str) + " " + nodes["label"]
        + "<br>exclusive " + nodes["exclusive_ms"].round(3).astype(str) + " ms"
        + ", inclusive " + nodes["inclusive_ms"].round(3).astype(str) + " ms"
        + "<br>rows " + nodes["rows_total"].astype(str) + " (estimate x"
        + nodes["estimate_factor"].round(1).astype(str) + " " + nodes["estimate_direction"] + ")"
        + ", loops " + nodes["loops"].astype(str)
    )  # fmt: skip
    figure = go.Figure(
        go.Icicle(
            ids=nodes["node_id"].astype(str),
            parents=nodes["parent_id"].map(lambda p: "" if pd.isna(p) else str(int(p))),
            labels=[_short(label, label_chars) for label in nodes["label"]],
            values=values,
            branchvalues="remainder",
            hovertext=hover,
            hoverinfo="text",
            maxdepth=max_depth,
        )
    )
    title = "exclusive time by node" if analysed else "plan shape (not analysed)"
    figure.update_layout(title=f"{analysis.plan.name or 'plan'}: {title}", margin={"t": 50})
    return figure


def _top(nodes: pd.DataFrame, metric: str, top: int) -> pd.DataFrame:
    ranked = nodes.sort_values(metric, ascending=False)
    shown = ranked.head(top)
    names = "#" + shown["node_id"].astype(str) + " " + shown["label"].map(lambda s: _short(s, 50))
    bars = pd.DataFrame({"name": names, "value": shown[metric]})
    rest = ranked.iloc[top:][metric].dropna()
    if metric != "estimate_factor" and len(rest):
        other = pd.DataFrame({"name": [f"other ({len(rest)} nodes)"], "value": [rest.sum()]})
        bars = pd.concat([bars, other], ignore_index=True)
    return bars


def node_bars(plan: Plan | Analysis, metric: str = "exclusive_ms", *, top: int = 25) -> go.Figure:
    """Horizontal bars of one per-node metric (see BAR_METRICS), largest first."""
    if metric not in BAR_METRICS:
        raise ValueError(f"unknown metric {metric!r}; use one of {', '.join(BAR_METRICS)}")
    analysis = _analysis(plan)
    bars = _top(analysis.nodes, metric, top)
    figure = go.Figure(go.Bar(x=bars["value"], y=bars["name"], orientation="h"))
    figure.update_layout(
        title=f"{analysis.plan.name or 'plan'}: {BAR_METRICS[metric]}",
        yaxis={"autorange": "reversed"},
        xaxis_title=BAR_METRICS[metric],
        height=max(300, 22 * len(bars) + 120),
    )
    return figure


def diff_chart(plan_diff: PlanDiff, metric: str = "exclusive_ms", *, top: int = 25) -> go.Figure:
    """Before vs after per node pair; added / removed / replaced nodes are marked."""
    nodes = plan_diff.nodes.copy()
    nodes["size"] = nodes[[f"before_{metric}", f"after_{metric}"]].max(axis=1)
    nodes = nodes.sort_values("size", ascending=False).head(top)
    names = nodes.apply(
        lambda r: f"[{r['change']}] " + _short(str(r["after_label"] or r["before_label"]), 50),
        axis=1,
    )
    figure = go.Figure(
        [
            go.Bar(name="before", y=names, x=nodes[f"before_{metric}"], orientation="h"),
            go.Bar(name="after", y=names, x=nodes[f"after_{metric}"], orientation="h"),
        ]
    )
    figure.update_layout(
        barmode="group",
        title=f"before vs after: {BAR_METRICS.get(metric, metric)}",
        yaxis={"autorange": "reversed"},
        height=max(300, 40 * len(nodes) + 120),
    )
    return figure
