"""Charts: display-only downsampling, SLO lines, event annotations, no-data notice."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd

from rollbook.prom.catalog import concept
from rollbook.prom.charts import DISPLAY_POINTS, downsample_minmax, timeseries
from rollbook.prom.params import Slo

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def frame(values: np.ndarray, **labels: str) -> pd.DataFrame:
    stamps = pd.date_range(T0, periods=len(values), freq="15s")
    return pd.DataFrame({"timestamp": stamps, **labels, "value": values})


def test_downsampling_keeps_extremes_and_bounds_points() -> None:
    values = np.sin(np.arange(40_000) / 500.0)
    values[12_345] = 50.0  # a spike
    data = frame(values)
    shown = downsample_minmax(data, 1_000)
    assert len(shown) <= 1_000
    assert shown["value"].max() == 50.0 and shown["value"].min() == values.min()
    assert shown["timestamp"].is_monotonic_increasing
    assert downsample_minmax(data.head(10), 1_000).equals(data.head(10))


def test_a_one_sample_spike_in_40k_points_is_displayed() -> None:
    """7 days at 15 s; each series holds one spike (up or down) at a different place."""
    rng = np.random.default_rng(7)
    for at, height in ((0, 9.0), (17_777, 9.0), (23_456, -9.0), (39_999, 9.0)):
        values = rng.normal(1.0, 0.05, 40_320)
        values[at] = height
        data = frame(values)
        shown = downsample_minmax(data)
        assert len(shown) <= DISPLAY_POINTS
        assert data["timestamp"][at] in set(shown.loc[shown["value"] == height, "timestamp"])


def test_a_reduced_chart_says_it_was_reduced_and_how() -> None:
    measure = concept("replica_lag_seconds")
    reduced = timeseries(frame(np.zeros(40_320)), measure, points=1_000)
    assert "40,320 samples" in reduced.layout.title.subtitle.text
    assert "min and max per bucket" in reduced.layout.title.subtitle.text
    assert "verdicts use every sample" in reduced.layout.title.subtitle.text
    assert len(reduced.data[0].y) <= 1_000
    assert (
        timeseries(frame(np.zeros(500)), measure, points=1_000).layout.title.subtitle.text is None
    )


def test_chart_has_series_slo_line_and_events() -> None:
    data = pd.concat(
        [
            frame(np.full(5_000, 0.2), endpoint="history"),
            frame(np.full(5_000, 0.1), endpoint="send"),
        ]
    )
    measure = concept("latency_p95_by_endpoint_seconds")
    slo = Slo(concept=measure.name, op="<=", threshold=0.35)
    fig = timeseries(data, measure, slos=[slo], events=[(T0, "ramp 10%")], points=500)
    assert [t.name for t in fig.data] == ["endpoint=history", "endpoint=send"]
    assert all(len(t.y) <= 500 for t in fig.data)
    shapes = fig.layout.shapes
    assert [s.y0 for s in shapes if s.line.dash == "dash"] == [0.35]
    assert any(a.text == "ramp 10%" for a in fig.layout.annotations)


def test_empty_chart_says_no_data() -> None:
    empty = pd.DataFrame({"timestamp": pd.Series(dtype="datetime64[ns, UTC]"), "value": []})
    fig = timeseries(empty, concept("replica_lag_seconds"))
    assert any(a.text == "no data" for a in fig.layout.annotations)
