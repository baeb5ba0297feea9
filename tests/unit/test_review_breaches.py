"""Breach intervals of an objective over a window: gaps are no data, never a breach or a
pass; each breach has its start and end."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from rollbook.params import validate_params
from rollbook.prom.params import Slo
from rollbook.prom.window import Window
from rollbook.review import WindowReview
from rollbook.review.breaches import breach_check, spans
from rollbook.review.window import rate_range, review_step, with_context
from rollbook.verdict import Status

START = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
STEP = timedelta(seconds=15)
SLO = Slo(concept="history_latency_p95_seconds", op="<=", threshold=0.35)


def frame(values, series="a") -> pd.DataFrame:
    """One sample per step from START; None leaves the moment out (a gap)."""
    rows = [
        {"timestamp": pd.Timestamp(START + i * STEP), "series": series, "value": v}
        for i, v in enumerate(values)
        if v is not None
    ]
    return pd.DataFrame(rows, columns=["timestamp", "series", "value"])


def window(points: int) -> Window:
    return Window(START, START + (points - 1) * STEP)


def states(table) -> list[tuple[str, int, int]]:
    """(state, first moment, end) as step numbers from START."""
    return [
        (s.state, (s.start - START) // STEP, (s.end - START) // STEP) for s in table.itertuples()
    ]


def test_breaches_have_start_end_and_worst_value():
    values = [0.1, 0.2, 0.9, 0.8, 0.1, 0.1, 0.5, 0.1]
    table = spans(frame(values), SLO, window(8), STEP)
    assert states(table) == [
        ("met", 0, 2),
        ("breach", 2, 4),
        ("met", 4, 6),
        ("breach", 6, 7),
        ("met", 7, 7),
    ]
    assert table["worst"].tolist() == [0.2, 0.9, 0.1, 0.5, 0.1]
    check = breach_check(SLO, "History p95 latency", "s", table)
    assert check.status is Status.FAIL and check.blocks
    assert "history_latency_p95_seconds <= 0.35" in check.name
    assert check.observed == "2 breach(es), 45s"
    assert "breach 10:00:30–10:01:00 (30s) worst 0.9 s" in check.detail
    assert "breach 10:01:30–10:01:45 (15s) worst 0.5 s" in check.detail


def test_gaps_are_no_data_not_breach_nor_pass():
    # missing samples and NaN (a percentile of no requests) alike
    values = [0.1, None, None, 0.1, np.nan, 0.2]
    table = spans(frame(values), SLO, window(6), STEP)
    assert states(table) == [("met", 0, 1), ("no data", 1, 3), ("met", 3, 4),
                             ("no data", 4, 5), ("met", 5, 5)]  # fmt: skip
    check = breach_check(SLO, "History p95 latency", "s", table)
    assert check.status is Status.NO_DATA and check.blocks
    assert check.detail == "no data 10:00:15–10:00:45 (30s); no data 10:01:00–10:01:15 (15s)"


def test_a_gap_inside_a_breach_splits_it_and_still_fails():
    table = spans(frame([0.9, None, 0.9]), SLO, window(3), STEP)
    assert states(table) == [("breach", 0, 1), ("no data", 1, 2), ("breach", 2, 2)]
    assert breach_check(SLO, "t", "s", table).status is Status.FAIL


def test_unbroken_series_on_the_right_side_passes_and_empty_is_no_data():
    assert breach_check(SLO, "t", "s", spans(frame([0.1] * 4), SLO, window(4), STEP)).status is (
        Status.PASS
    )
    empty = spans(frame([]), SLO, window(4), STEP)
    assert states(empty) == [("no data", 0, 3)]
    assert breach_check(SLO, "t", "s", empty).status is Status.NO_DATA


def test_several_series_judge_each_moment_by_the_worst():
    floor = Slo(concept="throughput_rps", op=">=", threshold=20)
    both = pd.concat([frame([30, 30, 30], "a"), frame([30, 10, None], "b")])
    assert states(spans(both, floor, window(3), STEP)) == [
        ("met", 0, 1),
        ("breach", 1, 2),
        ("met", 2, 2),
    ]


@pytest.mark.parametrize(
    ("minutes", "step", "rate"), [(20, 15, 60), (600, 60, 60), (7200, 600, 600)]
)
def test_one_step_and_rate_range_rule(minutes, step, rate):
    span = Window(START, START + timedelta(minutes=minutes))
    assert review_step(span) == timedelta(seconds=step)
    assert rate_range(review_step(span)) == timedelta(seconds=rate)


def test_context_is_the_same_length_each_side_on_the_step_grid():
    span = Window(START, START + timedelta(minutes=20, seconds=5))
    around = with_context(span, STEP, now=START + timedelta(days=1))
    before, after = span.start - around.start, around.end - span.end
    assert before == after == timedelta(minutes=20, seconds=15)  # whole steps
    # never into the future
    cut = with_context(span, STEP, now=span.end + timedelta(minutes=1))
    assert cut.end == span.end + timedelta(minutes=1)


class EveryStep:
    """A Prometheus answering every range query with 0.1 at each moment of its grid (whole
    seconds from the window's start, as Prometheus evaluates it) and nothing else."""

    def range(self, query, window, *, step):
        first = pd.Timestamp(window.start).floor("s")
        moments = pd.date_range(first, pd.Timestamp(window.end), freq=pd.Timedelta(step))
        return pd.DataFrame({"timestamp": moments, "value": 0.1})

    def instant(self, query, at=None):
        return pd.DataFrame({"value": []})


def test_a_window_starting_between_seconds_judges_its_first_moment():
    params = validate_params(
        {
            "environment": "unit",
            "primary": {"host": "127.0.0.1", "port": 1, "dbname": "chat", "user": "chat"},
            "monitoring": {"slo": ["history_latency_p95_seconds <= 350ms"]},
        }
    )
    late = START + timedelta(milliseconds=250)  # `last 5m` starts at any fraction of a second
    review = WindowReview(params, Window(late, late + timedelta(minutes=5)), client=EveryStep())
    (slo,) = review.slos
    assert [s.state for s in review.slo_spans(slo).itertuples()] == ["met"]
