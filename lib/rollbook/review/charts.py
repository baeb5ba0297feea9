"""Review charts: a series with as much context before and after the window as the window
is long, the window shaded, and the moments the objective was breached shaded in red."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pandas as pd
import plotly.graph_objects as go

from rollbook.prom import charts
from rollbook.prom.catalog import Concept
from rollbook.prom.params import Slo
from rollbook.prom.window import Window
from rollbook.review.breaches import BREACH

WINDOW_SHADE = {"fillcolor": "royalblue", "opacity": 0.08, "line_width": 0, "layer": "below"}
BREACH_SHADE = {"fillcolor": "firebrick", "opacity": 0.18, "line_width": 0, "layer": "below"}


def shade(fig: go.Figure, window: Window, spans: pd.DataFrame | None = None, **where) -> None:
    """Shade the window (and each breach span) on `fig` (`where`: `row`/`col` of a subplot)."""
    fig.add_vrect(x0=window.start, x1=window.end, **WINDOW_SHADE, **where)
    if spans is not None:
        for span in spans[spans["state"] == BREACH].itertuples():
            fig.add_vrect(x0=span.start, x1=span.end, **BREACH_SHADE, **where)


def in_context(
    frame: pd.DataFrame,
    measure: Concept,
    window: Window,
    context: Window,
    *,
    slos: Sequence[Slo] = (),
    spans: pd.DataFrame | None = None,
    events: Sequence[tuple[datetime, str]] = (),
) -> go.Figure:
    """The concept over `context` with the review window shaded and its breaches in red."""
    fig = charts.timeseries(frame, measure, slos=slos, events=events)
    shade(fig, window, spans)
    fig.update_xaxes(range=[context.start, context.end])
    fig.update_layout(title=f"{measure.title} (shaded: the window; red: SLO breached)")
    return fig
