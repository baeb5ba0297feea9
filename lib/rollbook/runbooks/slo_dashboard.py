"""The SLO dashboard runbook: the Grafana panels as an archived, offline-readable report.

For one time window it draws every panel of `rollbook.prom.dashboard` from Prometheus (a
chart per concept with the SLO lines of the params and rollout events as annotations, a
table for table panels), shows the alerts of the window and the context of the alert that
linked here, and checks the SLOs over the window. The window, its step, rate range, alerts,
events and SLO checks come from `rollbook.review`, as in the incident review, so both show
the same number for the same concept. Everything is read-only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import pandas as pd
import plotly.graph_objects as go

from rollbook.errors import InputError
from rollbook.prom import charts
from rollbook.prom.catalog import Concept, concept
from rollbook.prom.client import label_columns
from rollbook.prom.dashboard import GRAFANA_RANGE, SLO_SCORE, Panel, panels
from rollbook.prom.events import markers
from rollbook.prom.rules import find_alert
from rollbook.prom.slo import slo_score_promql
from rollbook.review import WindowReview


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


class SloDashboard(WindowReview):
    """The dashboard over one window of one environment: the window review (one window,
    step, rate range and SLO judgement with the incident review) shown panel by panel."""

    @cached_property
    def rollout_events(self) -> pd.DataFrame:
        """Run starts and ends and flag changes in the window, marked on every chart."""
        return self.events()

    def overview(self) -> pd.DataFrame:
        """What this report covers: the window (shortened to the stored data), step, SLOs."""
        table = super().overview().drop(index="context shown")
        events = pd.DataFrame({"": [len(self.rollout_events)]}, index=["rollout events"])
        return pd.concat([table, events])

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

    def figure(self, measure: Concept, frame: pd.DataFrame) -> go.Figure:
        events = markers(self.rollout_events)
        return charts.timeseries(frame, measure, slos=self.slos, events=events)

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

    def alert_context(self, name: str) -> tuple[pd.DataFrame, go.Figure]:
        """The alert's definition and its concept over the window with the alert threshold."""
        alert = find_alert(name)
        measure = self.measure(alert.concept)
        definition = self.alert_definition(name)
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
