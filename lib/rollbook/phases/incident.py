"""Incident review: what happened in a time window, read back from Prometheus, the archive
and the flag audit. Read-only.

One timeline shows the catalog's key series, the series of every alert that fired (the
`concept` label of the project's alerts), alerts (`ALERTS`, `ALERTS_FOR_STATE`), archived
runs with their verdicts and flag changes; tables list the same with links to each run's
archived report.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from rollbook.archive import RunPaths, list_runs
from rollbook.config import Params
from rollbook.db import session
from rollbook.flags import FlagStore
from rollbook.phases import indexes, validation
from rollbook.phases.plan_archive import latest_plans, shape_checks
from rollbook.prom.catalog import UnknownConcept, concept
from rollbook.prom.charts import chart_title, downsample_minmax
from rollbook.prom.client import PromClient, choose_step, label_columns
from rollbook.prom.rules import find_alert
from rollbook.prom.window import Window, as_window, promql_duration

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
ALERT_COLUMNS = [
    "alertname",
    "severity",
    "concept",
    "alertstate",
    "active_since",
    "first_seen",
    "last_seen",
]
OUTCOME_COLOURS = {"passed": "seagreen", "failed": "firebrick"}


def review_window(window: str = "last 1h", start: str = "", end: str = "") -> Window:
    """`start`/`end` (ISO 8601) when given, else `window` (`last 1h` or `START/END`)."""
    if start or end:
        if not (start and end):
            raise ValueError("give both `start` and `end` (ISO 8601), or neither")
        return as_window(f"{start}/{end}")
    return as_window(window)


def alerts(client: PromClient, window: Window) -> pd.DataFrame:
    """Each alert seen in the window: state, first and last sample, and since when it was
    active (`ALERTS_FOR_STATE` holds the activation time as its value)."""
    step = choose_step(window, min_step="2s")
    seen = client.range("ALERTS", window, step=step)
    if seen.empty:
        return pd.DataFrame(columns=ALERT_COLUMNS)
    labels = [c for c in label_columns(seen) if c not in ("__name__", "alertstate")]
    table = (
        seen.groupby([*labels, "alertstate"], dropna=False)["timestamp"]
        .agg(first_seen="min", last_seen="max")
        .reset_index()
    )
    active = client.range("ALERTS_FOR_STATE", window, step=step)
    if not active.empty:
        since = active.groupby("alertname")["value"].min()
        table["active_since"] = pd.to_datetime(table["alertname"].map(since), unit="s", utc=True)
    for column in ALERT_COLUMNS:
        if column not in table:
            table[column] = None
    return table[ALERT_COLUMNS + [c for c in table.columns if c not in ALERT_COLUMNS]]


def runs(window: Window, output_dir: Path | None = None, link_from: Path | None = None):
    """Archived runs overlapping the window, with verdicts and a link to each report."""
    found = list_runs(output_dir)
    ended = found["ended_at"].fillna(found["started_at"])
    found = found[(found["started_at"] <= window.end) & (ended >= window.start)].copy()
    reports = [RunPaths(Path(d)).html for d in found["run_dir"]]
    base = link_from or Path.cwd()
    found["report"] = [os.path.relpath(r, base) if r.exists() else "" for r in reports]
    columns = [
        "run_id",
        "runbook",
        "environment",
        "mode",
        "outcome",
        "started_at",
        "ended_at",
        "checks",
        "failing",
        "reason",
        "report",
    ]
    return found[columns].sort_values("started_at", ignore_index=True)


def runs_html(table: pd.DataFrame) -> str:
    """The runs table with each report as a link (opens the archived HTML)."""
    shown = table.astype(str).map(html.escape)
    shown["report"] = [
        f'<a href="{html.escape(link)}">report</a>' if link else "" for link in table["report"]
    ]
    return shown.to_html(escape=False, index=False)


def flag_changes(params: Params, window: Window) -> pd.DataFrame:
    """Flag changes in the window from the audit table (empty when it does not exist)."""
    with session(params.primary, params.safety, purpose="incident", read_only=True) as conn:
        if conn.execute("SELECT to_regclass('rollbook.flag_audit')").fetchone()[0] is None:
            return pd.DataFrame(columns=["changed_at", "name", "old_value", "new_value"])
        history = FlagStore(conn).history(since=window.start)
    history["changed_at"] = pd.to_datetime(history["changed_at"], utc=True)
    return history[history["changed_at"] <= pd.Timestamp(window.end)].reset_index(drop=True)


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


def series(params: Params, client: PromClient, window: Window, names: list[str]) -> dict:
    """{concept: tidy frame} over the window at the display step (rates over >= 1 minute)."""
    step = choose_step(window, min_step="2s")
    rate = promql_duration(max(step * 4, pd.Timedelta(minutes=1).to_pytimedelta()))
    measures = {n: concept(n, params.monitoring.queries) for n in names}
    return {n: client.range(m.query(rate), window, step=step) for n, m in measures.items()}


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


def timeline(frames: dict, alert_table, run_table, flags, window: Window) -> go.Figure:
    """One figure, shared time axis: a panel per series, then alerts, runs and flag changes."""
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
    fig.update_layout(shapes=lines)  # one shape per moment across every panel
    fig.update_xaxes(range=[window.start, window.end])
    fig.update_layout(
        height=170 * (len(names) + 1) + 100,
        title=chart_title(f"Incident window {window}", longest),
        legend={"orientation": "h"},
        margin={"t": 80},
    )
    return fig


def alert_definition(name: str) -> pd.DataFrame:
    """The project's rule for an alert: what it watches and when it fires."""
    alert = find_alert(name)
    rule = alert.rule()
    return pd.DataFrame(
        {
            "": [
                alert.severity,
                alert.summary,
                alert.concept,
                f"{alert.op} {alert.threshold:g} for {alert.for_}",
                rule["expr"],
            ]
        },
        index=["severity", "summary", "concept", "fires when", "expr"],
    )


def plans_vs_archived(params: Params, output_dir: Path | None = None):
    """The named queries' plans now vs the newest archived Phase 1 plans: statement metrics
    per query and target, and (informational) shape checks."""
    plans = validation.current_plans(params)
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
