"""What happened in a window besides the series: alerts, archived runs, flag changes.

Read-only. The report must still open during an outage: an unreachable primary costs
only the flag changes, with a warning saying so.
"""

from __future__ import annotations

import os
import warnings
from datetime import timedelta
from pathlib import Path

import pandas as pd
import psycopg

from rollbook.archive import RunPaths, list_runs
from rollbook.config.endpoints import PostgresEndpoint, Safety
from rollbook.db import scalar, session
from rollbook.flags import FlagStore
from rollbook.flags.store import HISTORY_COLUMNS
from rollbook.prom.client import PromClient, label_columns
from rollbook.prom.window import Window

ALERT_COLUMNS = [
    "alertname",
    "severity",
    "concept",
    "alertstate",
    "active_since",
    "first_seen",
    "last_seen",
]
RUN_COLUMNS = [
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


def alerts(client: PromClient, window: Window, step: timedelta) -> pd.DataFrame:
    """Each alert seen in the window: state, first and last sample, and since when it was
    active (`ALERTS_FOR_STATE` holds the activation time as its value)."""
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
    return found[RUN_COLUMNS].sort_values("started_at", ignore_index=True)


def flag_changes(primary: PostgresEndpoint, safety: Safety, window: Window) -> pd.DataFrame:
    """Flag changes in the window from the primary's audit table (empty when it does not
    exist, or with a warning when the primary cannot be reached)."""
    empty = pd.DataFrame(columns=HISTORY_COLUMNS)
    try:
        with session(primary, safety, purpose="review", read_only=True) as conn:
            if scalar(conn, "SELECT to_regclass('rollbook.flag_audit')") is None:
                return empty
            history = FlagStore(conn).history(since=window.start)
    except psycopg.OperationalError as exc:
        warnings.warn(f"flag changes not shown, the primary is unreachable: {exc}", stacklevel=2)
        return empty
    history["changed_at"] = pd.to_datetime(history["changed_at"], utc=True)
    return history[history["changed_at"] <= pd.Timestamp(window.end)].reset_index(drop=True)
