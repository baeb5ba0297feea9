"""Incident review: what happened in a time window, read back from Prometheus, the archive
and the flag audit. Read-only.

The window is read through `rollbook.review` (the same queries, step and rate range as the
SLO dashboard) and judged against the params' objectives itself, whether or not an alert
fired: each breach with its start and end. One timeline shows the catalog's key series
with as much context before and after the window as it is long, the series of every alert
that fired (the `concept` label of the project's alerts), alerts, archived runs with their
verdicts and flag changes; tables list the same with links to each run's archived report.
"""

from __future__ import annotations

import html
import warnings
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import psycopg
from plotly.subplots import make_subplots

from rollbook.archive.archived_plans import latest_plans, shape_checks
from rollbook.params import Params
from rollbook.prom.catalog import UnknownConcept, concept
from rollbook.prom.charts import chart_title, downsample_minmax
from rollbook.prom.client import label_columns
from rollbook.prom.window import Window, as_window
from rollbook.review import WindowReview
from rollbook.review.charts import in_context, shade
from rollbook.runbooks import indexes, validation
from rollbook.verdict import expect

KEY_CONCEPTS = (
    "history_latency_p95_seconds",
    "send_latency_p95_seconds",
    "throughput_rps",
    "error_ratio",
    "cache_hit_ratio",
    "replica_lag_seconds",
    "primary_tuples_read_per_second",
    "pgbouncer_pool_saturation_ratio",
)
OUTCOME_COLOURS = {"passed": "seagreen", "failed": "firebrick"}


def review_window(window: str = "last 1h", start: str = "", end: str = "") -> Window:
    """`start`/`end` (ISO 8601) when given, else `window` (`last 1h` or `START/END`)."""
    if start or end:
        if not (start and end):
            raise ValueError("give both `start` and `end` (ISO 8601), or neither")
        return as_window(f"{start}/{end}")
    return as_window(window)


def runs_html(table: pd.DataFrame) -> str:
    """The runs table with each report as a link (opens the archived HTML)."""
    shown = table.astype(str).map(html.escape)
    shown["report"] = [
        f'<a href="{html.escape(link)}">report</a>' if link else "" for link in table["report"]
    ]
    return shown.to_html(escape=False, index=False)


def affected_concepts(alert_table: pd.DataFrame) -> list[str]:
    """The key concepts, then the concept of every alert in the window (known ones)."""
    names = list(KEY_CONCEPTS)
    for name in alert_table["concept"].dropna():
        try:
            concept(name)
        except UnknownConcept:
            continue
        if name not in names:
            names.append(name)
    return names


def start_review(
    params: Params, window: str, start: str, end: str, archive: str | Path
) -> WindowReview:
    """The review of the window (see `review_window`), reading runs from the archive
    `archive` (the notebook passes its `archive` parameter, else its run's archive)."""
    return WindowReview(params, review_window(window, start, end), output_dir=Path(archive))


def series(review: WindowReview, names: list[str]) -> dict[str, pd.DataFrame]:
    """{concept: tidy frame} over the window with its context, at the review's step."""
    return {name: review.series(name, context=True) for name in names}


def slo_charts(review: WindowReview) -> list[go.Figure]:
    """Each objective's series with the window's context, its line and its breaches."""
    return [
        in_context(
            review.series(slo.concept, context=True),
            review.measure(slo.concept),
            review.window,
            review.context,
            slos=[slo],
            spans=review.slo_spans(slo),
        )
        for slo in review.slos
    ]


def _event_lane(fig: go.Figure, row: int, alert_table, run_table, flags) -> None:
    for alert in alert_table.itertuples():
        fig.add_trace(
            go.Scatter(
                x=[alert.first_seen, alert.last_seen],
                y=[f"alert {alert.alertname}"] * 2,
                mode="lines+markers",
                line={
                    "width": 8,
                    "color": "darkorange" if alert.alertstate == "pending" else "crimson",
                },
                name=f"{alert.alertname} ({alert.alertstate})",
            ),
            row=row,
            col=1,
        )
    for run in run_table.itertuples():
        ended = run.ended_at if pd.notna(run.ended_at) else run.started_at
        colour = OUTCOME_COLOURS.get(run.outcome, "gray")
        fig.add_trace(
            go.Scatter(
                x=[run.started_at, ended],
                y=[f"run {run.runbook}"] * 2,
                mode="lines+markers",
                line={"width": 8, "color": colour},
                name=f"{run.runbook}: {run.outcome}",
            ),
            row=row,
            col=1,
        )
    if len(flags):
        labels = [f"{f.name} {f.old_value}→{f.new_value}" for f in flags.itertuples()]
        fig.add_trace(
            go.Scatter(
                x=flags["changed_at"],
                y=["flags"] * len(flags),
                mode="markers",
                marker={"symbol": "diamond", "size": 10},
                text=labels,
                hoverinfo="text+x",
                name="flag changes",
            ),
            row=row,
            col=1,
        )


def timeline(review: WindowReview, frames: dict, alert_table, run_table, flags) -> go.Figure:
    """One figure, shared time axis over the window and its context (the window shaded,
    each objective's breaches in red): a panel per series, then alerts, runs and flag
    changes."""
    window = review.window
    names = list(frames)
    titles = [concept(n).title for n in names] + ["alerts, runs, flag changes"]
    fig = make_subplots(
        rows=len(names) + 1, cols=1, shared_xaxes=True, subplot_titles=titles, vertical_spacing=0.02
    )
    longest = 0
    for row, name in enumerate(names, start=1):
        frame = frames[name]
        labels = [c for c in label_columns(frame) if c != "__name__" and frame[c].nunique() > 1]
        groups = frame.groupby(labels) if labels else [("", frame)]
        for key, part in groups:
            longest = max(longest, len(part))
            shown = downsample_minmax(part.sort_values("timestamp"))
            fig.add_trace(
                go.Scattergl(
                    x=shown["timestamp"],
                    y=shown["value"],
                    mode="lines",
                    name=f"{name} {key}".strip(),
                    showlegend=False,
                ),
                row=row,
                col=1,
            )
        objectives = [slo for slo in review.slos if slo.concept == name]
        shade(fig, window, review.slo_spans(objectives[0]) if objectives else None, row=row, col=1)
    _event_lane(fig, len(names) + 1, alert_table, run_table, flags)
    moments = sorted({*flags["changed_at"], *alert_table["first_seen"]})
    lines = [
        {
            "type": "line",
            "xref": "x",
            "yref": "paper",
            "x0": m,
            "x1": m,
            "y0": 0,
            "y1": 1,
            "line": {"dash": "dot", "color": "gray", "width": 1},
        }
        for m in moments
    ]
    fig.update_layout(shapes=[*fig.layout.shapes, *lines])  # across every panel
    fig.update_xaxes(range=[review.context.start, review.context.end])
    fig.update_layout(
        height=170 * (len(names) + 1) + 100,
        title=chart_title(f"Incident window {window}", longest),
        legend={"orientation": "h"},
        margin={"t": 80},
    )
    return fig


def plans_vs_archived(params: Params, output_dir: Path | None = None):
    """The named queries' plans now vs the newest archived Phase 1 plans: statement metrics
    per query and target, and (informational) shape checks. A review must open during an
    outage: a database that cannot be reached makes the plans *no data*, with a warning."""
    try:
        plans = validation.current_plans(params)
    except psycopg.OperationalError as exc:
        warnings.warn(f"plans not shown, the database is unreachable: {exc}", stacklevel=2)
        check = expect("plans now vs archived", None, detail="database unreachable", required=False)
        return pd.DataFrame(), pd.DataFrame(), [check]
    archived = latest_plans(params.environment, output_dir)
    frames, checks = [], []
    for target, analyses in plans.items():
        diffs, shape = shape_checks(archived, analyses, target)
        checks += [c.model_copy(update={"required": False}) for c in shape]
        if diffs:
            frames.append(indexes.diffs_table(diffs).assign(target=target))
    now = pd.concat(
        [indexes.plans_table(a).assign(target=t) for t, a in plans.items()], ignore_index=True
    )
    compared = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return now, compared, checks
