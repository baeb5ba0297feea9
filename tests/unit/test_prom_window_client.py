"""Windows, step choice, chunk plans and tidy frames (no server needed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rollbook.duration import DurationError, parse_duration
from rollbook.prom.client import PROMETHEUS_MAX_POINTS, _http_error, choose_step, plan_chunks, tidy
from rollbook.prom.window import Window, WindowError, around_run, as_window

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_durations() -> None:
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration("250ms") == timedelta(milliseconds=250)
    with pytest.raises(DurationError, match="not a duration"):
        parse_duration("5 minutes")


def test_windows_last_absolute_and_around_a_run() -> None:
    assert as_window("last 30m").duration == timedelta(minutes=30)
    window = as_window("2026-01-01T00:00:00+00:00/2026-01-01T01:00:00+00:00")
    assert window == Window(T0, T0 + timedelta(hours=1))
    run = (T0, T0 + timedelta(hours=1))
    assert around_run(*run, "before", "15m") == Window(T0 - timedelta(minutes=15), T0)
    assert around_run(*run, "after", "15m").start == run[1]
    assert around_run(*run, "during") == Window(*run)
    assert around_run(*run, "during", "10m").start == run[1] - timedelta(minutes=10)
    with pytest.raises(WindowError, match="needs a duration"):
        around_run(*run, "before")
    with pytest.raises(WindowError, match="before it starts"):
        Window(run[1], run[0])
    with pytest.raises(WindowError, match="not a time window"):
        as_window("yesterday")


def test_step_is_round_and_within_limit() -> None:
    week = Window(T0, T0 + timedelta(days=7))
    assert choose_step(week) == timedelta(minutes=15)
    assert choose_step(Window(T0, T0 + timedelta(minutes=10))) == timedelta(seconds=15)
    assert choose_step(week, points=PROMETHEUS_MAX_POINTS) == timedelta(minutes=1)


def test_chunks_cover_the_grid_once() -> None:
    window = Window(T0, T0 + timedelta(days=7))
    step = timedelta(seconds=15)
    chunks = plan_chunks(window, step)
    points = [t for start, end in chunks for t in range(start, end + 1, 15)]
    assert len(points) == len(set(points)) == 7 * 86400 // 15 + 1
    assert all((end - start) // 15 + 1 <= 10_000 for start, end in chunks)
    with pytest.raises(ValueError, match="chunk_points"):
        plan_chunks(window, step, chunk_points=20_000)


def test_tidy_frame_and_empty_result() -> None:
    frame = tidy(
        [
            {"metric": {"__name__": "m", "job": "b"}, "values": [[1, "2"], [2, "NaN"]]},
            {"metric": {"__name__": "m", "job": "a"}, "values": [[1, "1"]]},
        ]
    )
    assert list(frame.columns) == ["timestamp", "__name__", "job", "value"]
    assert frame["job"].tolist() == ["a", "b", "b"]
    assert frame["value"].isna().tolist() == [False, False, True]
    assert str(frame["timestamp"].dt.tz) == "UTC"
    assert tidy([]).empty


def test_prometheus_error_message_is_extracted() -> None:
    text = 'HTTP Status Code 400 (b\'{"status":"error","error":"1:5: parse error: x"}\')'
    assert _http_error(text) == (400, "1:5: parse error: x")
    assert _http_error("something else") == (None, "something else")
