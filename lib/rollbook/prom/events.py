"""Rollout events in a time window: archived runbook runs and feature-flag changes.

Charts draw them as annotations so a reader sees what changed when a metric moved.
Both sources are read-only: the run catalog (`rollbook.archive.list_runs`) and the flag
audit table (`FlagStore.history`).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
import psycopg

from rollbook.archive import list_runs
from rollbook.db import scalar
from rollbook.flags import FlagStore
from rollbook.prom.window import Window

EVENT_COLUMNS = ["at", "kind", "label"]


def no_events() -> pd.DataFrame:
    return _frame([])


def _frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=EVENT_COLUMNS)
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    return frame


def _inside(frame: pd.DataFrame, window: Window) -> pd.DataFrame:
    keep = frame["at"].between(pd.Timestamp(window.start), pd.Timestamp(window.end))
    return frame[keep].sort_values("at", ignore_index=True)


def run_events(window: Window, output_dir: Path | None = None) -> pd.DataFrame:
    """Starts and ends of archived runs that fall inside the window."""
    runs = list_runs(output_dir)
    runs = runs[runs["started_at"] <= pd.Timestamp(window.end)]
    rows = []
    for run in runs.itertuples():
        rows.append({"at": run.started_at, "kind": "run", "label": f"{run.runbook} ({run.mode})"})
        if pd.notna(run.ended_at):
            rows.append(
                {"at": run.ended_at, "kind": "run", "label": f"{run.runbook} {run.outcome}"}
            )
    return _inside(_frame(rows), window)


def flag_events(conn: psycopg.Connection, window: Window) -> pd.DataFrame:
    """Flag changes inside the window from the audit table (none if it does not exist)."""
    if scalar(conn, "SELECT to_regclass('rollbook.flag_audit')") is None:
        return no_events()
    return flag_change_events(FlagStore(conn).history(since=window.start), window)


def flag_change_events(history: pd.DataFrame, window: Window) -> pd.DataFrame:
    """Rows of the flag audit (`FlagStore.history`) inside the window as events."""
    rows = [
        {
            "at": change.changed_at,
            "kind": "flag",
            "label": f"{change.name} {_number(change.old_value)}→{_number(change.new_value)}",
        }
        for change in history.itertuples()
    ]
    return _inside(_frame(rows), window)


def _number(value: object) -> str:
    return "unset" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def markers(events: pd.DataFrame) -> list[tuple[datetime, str]]:
    """Events as (moment, label) pairs for `rollbook.prom.charts.timeseries`."""
    return [(event.at.to_pydatetime(), event.label) for event in events.itertuples()]
