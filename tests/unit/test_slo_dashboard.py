"""SLO dashboard pieces that need no server: alert and panel lookup, runbook links,
rollout events from an archive, durations, the window cut to the stored data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from test_archive_catalog import archive_run

from rollbook.archive import rebuild
from rollbook.params import validate_params
from rollbook.prom.events import markers, run_events
from rollbook.prom.rules import UnknownAlert, all_alerts, find_alert
from rollbook.prom.slo import with_data
from rollbook.prom.window import Window, human_duration
from rollbook.review import WindowReview
from rollbook.runbooks.slo_dashboard import UnknownPanel, find_panel

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def test_every_alert_links_to_a_runbook_that_exists():
    missing = {a.name: a.runbook_url for a in all_alerts() if not (REPO / a.runbook_url).is_file()}
    assert missing == {}
    assert find_alert("QueryLatencyHigh").runbook_url == "notebooks/explain_explorer.ipynb"
    assert find_alert("ReplicaBreakerOpen").runbook_url == "notebooks/slo_dashboard.ipynb"


def test_unknown_alert_and_panel_name_what_exists():
    with pytest.raises(UnknownAlert, match="'Nope'.*ReplicaBreakerOpen"):
        find_alert("Nope")
    with pytest.raises(UnknownPanel, match="'Nope'.*'Replica lag'"):
        find_panel("Nope")
    assert find_panel("Replica lag").concepts == (
        "replica_lag_seconds",
        "workload_replica_lag_seconds",
    )


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0s"), (45, "45s"), (1024.2, "17m4s"), (5400, "1h30m"), (86400, "1d")]
)
def test_human_duration(seconds, text):
    assert human_duration(timedelta(seconds=seconds)) == text


def test_run_events_keep_starts_and_ends_inside_the_window(tmp_path):
    archive_run(tmp_path, "00_preflight", "passed", NOW - timedelta(minutes=10))  # ends -8m
    archive_run(tmp_path, "01_phase1_indexes", "failed", NOW - timedelta(minutes=31))  # ends -29m
    archive_run(tmp_path, "00_preflight", "passed", NOW - timedelta(hours=2))  # outside
    rebuild(tmp_path)
    events = run_events(Window(NOW - timedelta(minutes=30), NOW), tmp_path)
    assert events["label"].tolist() == [
        "01_phase1_indexes failed",
        "00_preflight (dry-run)",
        "00_preflight passed",
    ]
    assert set(events["kind"]) == {"run"}
    assert markers(events)[0] == (NOW - timedelta(minutes=29), "01_phase1_indexes failed")


class FirstSample:
    """Answers the first-sample query of `with_data` with a fixed epoch (or nothing)."""

    def __init__(self, first: datetime | None) -> None:
        self.first = first

    def instant(self, query: str, at: datetime | None = None) -> pd.DataFrame:
        assert "timestamp(up)" in query and at is not None
        return pd.DataFrame({"value": [self.first.timestamp()] if self.first else []})


def test_window_starts_at_the_first_stored_sample():
    window = Window(NOW - timedelta(minutes=30), NOW)
    assert with_data(FirstSample(NOW - timedelta(minutes=5)), window).start == NOW - timedelta(
        minutes=5
    )
    assert with_data(FirstSample(NOW - timedelta(hours=1)), window) == window
    # the first point of the 15 s subquery grid, a few seconds in: the data covers it all
    assert with_data(FirstSample(window.start + timedelta(seconds=7)), window) == window
    assert with_data(FirstSample(None), window) == window


def test_events_without_a_reachable_primary_warn_and_keep_the_runs(tmp_path):
    archive_run(tmp_path, "00_preflight", "passed", NOW - timedelta(minutes=10))
    rebuild(tmp_path)
    params = validate_params(
        {
            "environment": "test",
            # nothing listens on port 1: the flag audit cannot be read
            "primary": {"host": "127.0.0.1", "port": 1, "dbname": "chat", "user": "chat"},
        }
    )
    with pytest.warns(UserWarning, match="flag changes not shown"):
        review = WindowReview(
            params,
            Window(NOW - timedelta(minutes=30), NOW),
            client=FirstSample(None),
            output_dir=tmp_path,
        )
        events = review.events()
    assert events["label"].tolist() == ["00_preflight (dry-run)", "00_preflight passed"]
