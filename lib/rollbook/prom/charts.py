"""plotly time series per concept, with SLO lines and rollout events.

Long series are reduced for display only (min/max per bucket keeps spikes visible);
verdicts are computed from the full data (`rollbook.prom.slo`), never from a chart.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from rollbook.prom.catalog import Concept
from rollbook.prom.client import label_columns
from rollbook.prom.params import Slo

DISPLAY_POINTS = 2_000


def downsample_minmax(frame: pd.DataFrame, points: int = DISPLAY_POINTS) -> pd.DataFrame:
    """At most `points` rows of one series: each bucket's first, min and max samples."""
    if len(frame) <= points:
        return frame
    buckets = np.arange(len(frame)) * (points // 3) // len(frame)
    values = frame["value"].to_numpy()
    keep = set()
    for rows in np.split(np.arange(len(frame)), np.flatnonzero(np.diff(buckets)) + 1):
        chunk = values[rows]
        finite = ~np.isnan(chunk)
        keep.add(rows[0])
        if finite.any():
            keep.update((rows[np.nanargmin(chunk)], rows[np.nanargmax(chunk)]))
    return frame.iloc[sorted(keep)]


def reduction_note(longest: int, points: int = DISPLAY_POINTS) -> str | None:
    """The caption of a chart whose longest series (`longest` samples) was reduced, else None."""
    if longest <= points:
        return None
    return (
        f"display only: {longest:,} samples a series reduced to at most {points:,} "
        "(first, min and max per bucket, so spikes stay); verdicts use every sample"
    )


def chart_title(text: str, longest: int, points: int = DISPLAY_POINTS) -> dict:
    """A plotly title whose subtitle says when and how the series were reduced for display."""
    return {"text": text, "subtitle": {"text": reduction_note(longest, points)}}


def _series_name(key: tuple | str, labels: list[str]) -> str:
    if not labels:
        return "value"
    key = key if isinstance(key, tuple) else (key,)
    return ", ".join(f"{k}={v}" for k, v in zip(labels, key, strict=True))


def timeseries(
    frame: pd.DataFrame,
    measure: Concept,
    *,
    slos: Sequence[Slo] = (),
    events: Sequence[tuple[datetime, str]] = (),
    points: int = DISPLAY_POINTS,
) -> go.Figure:
    """One line per series; SLO thresholds of this concept as lines; events as markers."""
    fig = go.Figure()
    labels = [c for c in label_columns(frame) if c != "__name__" and frame[c].nunique() > 1]
    groups = frame.groupby(labels, sort=True) if labels else [("", frame)]
    longest = 0
    for key, series in groups:
        longest = max(longest, len(series))
        shown = downsample_minmax(series.sort_values("timestamp"), points)
        fig.add_trace(
            go.Scattergl(
                x=shown["timestamp"], y=shown["value"], mode="lines", name=_series_name(key, labels)
            )
        )
    for slo in slos:
        if slo.concept == measure.name:
            fig.add_hline(
                y=slo.threshold,
                line_dash="dash",
                line_color="firebrick",
                annotation_text=f"SLO {slo.op} {slo.threshold:g} {measure.unit}",
            )
    for moment, label in events:
        fig.add_vline(x=moment, line_dash="dot", line_color="gray")
        fig.add_annotation(x=moment, y=1, yref="paper", text=label, showarrow=False, textangle=-90,
                           xanchor="right", yanchor="top")  # fmt: skip
    if frame.empty:
        fig.add_annotation(text="no data", x=0.5, y=0.5, xref="paper", yref="paper",
                           showarrow=False, font={"size": 20})  # fmt: skip
    fig.update_layout(
        title=chart_title(measure.title, longest, points),
        yaxis_title=measure.unit,
        xaxis_title="time (UTC)",
        legend_title=", ".join(labels),
        margin={"t": 70 if longest > points else 50, "b": 40},
    )
    if measure.unit == "ratio":
        fig.update_yaxes(tickformat=".0%")
    return fig
