"""The SLO dashboard runbook: the Grafana panels as an archived, offline-readable report.

For one time window it draws every panel of `rollbook.prom.dashboard` from Prometheus (a
chart per concept with the SLO lines of the params and rollout events as annotations, a
table for table panels), shows the alerts of the window and the context of the alert that
linked here, and checks the SLOs over the window. Everything is read-only.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import psycopg

from rollbook.config import Params
from rollbook.db import session
from rollbook.errors import InputError
from rollbook.prom import charts
from rollbook.prom.catalog import Concept, concept
from rollbook.prom.client import PromClient, choose_step, label_columns
from rollbook.prom.dashboard import GRAFANA_RANGE, SLO_SCORE, Panel, panels
from rollbook.prom.events import flag_events, markers, no_events, run_events
from rollbook.prom.rules import find_alert
from rollbook.prom.slo import check_slos, slo_score_promql, with_data
from rollbook.prom.window import Window, as_window, promql_duration
from rollbook.verdict import Check

# Rates over at least a minute (30 scrapes in the lab), wider when the step is wider.
MIN_RATE_RANGE = timedelta(minutes=1)


def _display(value: object) -> None:
    from IPython.display import display

    display(value)


class UnknownPanel(InputError, KeyError):
    """A panel title the dashboard does not have."""

    def __str__(self) -> str:
        return self.args[0]


@dataclass
class PanelView:
    """What one panel shows for the window: charts, or a table for table panels."""

    title: str
    figures: list[go.Figure] = field(default_factory=list)
    table: pd.DataFrame | None = None


def find_panel(title: str) -> Panel:
    """The dashboard panel called `title`, or UnknownPanel listing the titles."""
    for panel in panels():
        if panel.title == title:
            return panel
    titles = ", ".join(repr(p.title) for p in panels())
    raise UnknownPanel(f"no dashboard panel {title!r}; panels: {titles}")


def rollout_events(params: Params, window: Window, output_dir: Path | None = None) -> pd.DataFrame:
    """Archived runs and flag changes inside the window, oldest first.

    The report must still open during an outage: an unreachable primary costs only the
    flag changes, with a warning saying so.
    """
    try:
        with session(params.primary, params.safety, purpose="slo_dashboard", read_only=True) as c:
            flags = flag_events(c, window)
    except psycopg.OperationalError as exc:
        warnings.warn(f"flag changes not shown, the primary is unreachable: {exc}", stacklevel=2)
        flags = no_events()
    runs = run_events(window, output_dir)
    frames = [f for f in (runs, flags) if not f.empty]
    if not frames:
        return flags
    return pd.concat(frames).sort_values("at", ignore_index=True)


class SloDashboard:
    """The dashboard over one window of one environment."""

    def __init__(
        self,
        params: Params,
        window: str | Window,
        *,
        client: PromClient | None = None,
        output_dir: Path | None = None,
    ) -> None:
        self.params = params
        self.requested = as_window(window)
        self.client = client or PromClient.from_params(params)
        self.window = with_data(self.client, self.requested)
        self.slos = params.monitoring.slo
        self.overrides = params.monitoring.queries
        self.step = choose_step(self.window)
        self.rate_range = promql_duration(max(self.step, MIN_RATE_RANGE))
        self.events = rollout_events(params, self.window, output_dir)

    def overview(self) -> pd.DataFrame:
        """What this report covers: the window (shortened to the stored data), step, SLOs."""
        rows = {
            "window requested": str(self.requested),
            "window shown": str(self.window),
            "chart step": promql_duration(self.step),
            "rate range": self.rate_range,
            "rollout events": len(self.events),
            "SLOs": "; ".join(str(slo) for slo in self.slos),
        }
        return pd.DataFrame({"": list(rows.values())}, index=list(rows))

    def measures(self, panel: Panel) -> list[Concept]:
        """The panel's concepts (params overrides applied); the SLO score uses the params SLOs."""
        found = [concept(name, self.overrides) for name in panel.concepts]
        for legend, promql in panel.extra.items():
            if legend == SLO_SCORE:
                promql = slo_score_promql(self.slos, "$range")
            unit = "ratio" if panel.unit == "percentunit" else ""
            found.append(Concept(legend, panel.title, promql.replace(GRAFANA_RANGE, "$range"),
                                 unit, "slo"))  # fmt: skip
        return found

    def series(self, measure: Concept) -> pd.DataFrame:
        """The concept over the window at the display step (full data, not downsampled)."""
        return self.client.range(measure.query(self.rate_range), self.window, step=self.step)

    def figure(self, measure: Concept, frame: pd.DataFrame) -> go.Figure:
        return charts.timeseries(frame, measure, slos=self.slos, events=markers(self.events))

    def summary_table(self, panel: Panel) -> pd.DataFrame:
        """Each series of a table panel summarised over the window, one column per concept."""
        columns = []
        for measure in self.measures(panel):
            frame = self.client.instant(measure.over(self.window.duration), at=self.window.end)
            labels = [c for c in label_columns(frame) if c != "__name__"]
            if labels:
                columns.append(frame.set_index(labels)["value"].rename(measure.name))
        if not columns:
            return pd.DataFrame(columns=list(panel.concepts))
        merged = pd.concat(columns, axis=1).reset_index()
        first = panel.concepts[0]
        merged = merged.sort_values(first, ascending=False, ignore_index=True)
        return merged.head(panel.topk) if panel.topk else merged

    def panel(self, title: str) -> PanelView:
        """One panel for the window: a table for table panels, else a chart per concept."""
        spec = find_panel(title)
        if spec.kind == "table":
            return PanelView(title, table=self.summary_table(spec))
        figures = [self.figure(m, self.series(m)) for m in self.measures(spec)]
        return PanelView(title, figures=figures)

    def show(self, title: str) -> None:
        """Display one panel in the notebook (charts, or the table)."""
        view = self.panel(title)
        for figure in view.figures:
            figure.show()
        if view.table is not None:
            _display(view.table)

    def alerts(self) -> pd.DataFrame:
        """Every alert pending or firing during the window: when it was first and last seen."""
        frame = self.client.range("ALERTS", self.window, step=self.step)
        if frame.empty:
            return pd.DataFrame(columns=["alertname", "alertstate", "first_seen", "last_seen"])
        labels = [c for c in label_columns(frame) if c != "__name__"]
        grouped = frame.groupby(labels, dropna=False)["timestamp"]
        return grouped.agg(first_seen="min", last_seen="max").reset_index()

    def alert_context(self, name: str) -> tuple[pd.DataFrame, go.Figure]:
        """The alert's definition and its concept over the window with the alert threshold."""
        alert = find_alert(name)
        measure = concept(alert.concept, self.overrides)
        rule = alert.rule()
        definition = pd.DataFrame(
            {
                "alert": alert.name,
                "severity": alert.severity,
                "summary": alert.summary,
                "concept": alert.concept,
                "fires when": f"{alert.op} {alert.threshold:g} {measure.unit} for {alert.for_}",
                "expr": rule["expr"],
                "runbook": alert.runbook_url,
            },
            index=[0],
        ).T.rename(columns={0: ""})
        figure = self.figure(measure, self.series(measure))
        figure.add_hline(
            y=alert.threshold,
            line_dash="dashdot",
            line_color="darkorange",
            annotation_text=f"{alert.name} {alert.op} {alert.threshold:g}",
        )
        return definition, figure

    def show_alert(self, name: str | None) -> None:
        """Display the context of the alert that linked here, or say that none was given."""
        if not name:
            _display("No alert given: run with `-p alert <AlertName>` to see an alert's context.")
            return
        definition, figure = self.alert_context(name)
        _display(definition)
        figure.show()

    def slo_checks(self) -> list[Check]:
        """The params' SLOs over the whole window, from exact queries (never chart data)."""
        return check_slos(self.client, self.slos, self.window, self.overrides)
