"""The catalog of runs: one SQLite file next to the run folders, rebuilt from manifests."""

from __future__ import annotations

import sqlite3
from contextlib import closing, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from rollbook.archive.layout import RunPaths, default_output_dir
from rollbook.archive.results import RunResults, read_json
from rollbook.duration import EXAMPLES, DurationError, parse_duration

CATALOG_FILE = "catalog.sqlite"
COLUMNS = (
    "run_id",
    "runbook",
    "environment",
    "mode",
    "outcome",
    "exit_code",
    "started_at",
    "ended_at",
    "duration_seconds",
    "checks",
    "failing",
    "reason",
    "run_dir",
)
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS runs (run_id PRIMARY KEY, {", ".join(COLUMNS[1:])});
CREATE INDEX IF NOT EXISTS runs_started_at ON runs (started_at);
"""


def _connect(output_dir: Path) -> sqlite3.Connection:
    output_dir.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(output_dir / CATALOG_FILE, timeout=30)
    conn.executescript(_SCHEMA)
    return conn


def _row(manifest: dict[str, Any], results: RunResults, run_dir: Path) -> dict[str, Any]:
    return {
        **{k: manifest.get(k) for k in COLUMNS},
        "checks": len(results.checks),
        "failing": len(results.failing),
        "run_dir": str(run_dir),
    }


def record(output_dir: Path, run_dir: Path) -> None:
    """Add (or refresh) the run archived in `run_dir`."""
    paths = RunPaths(run_dir)
    row = _row(
        read_json(paths.manifest) or {}, RunResults.read(paths.results) or RunResults(), run_dir
    )
    placeholders = ", ".join(f":{c}" for c in COLUMNS)
    with closing(_connect(output_dir)) as conn, conn:
        conn.execute(f"INSERT OR REPLACE INTO runs VALUES ({placeholders})", row)


def rebuild(output_dir: Path | None = None) -> int:
    """Recreate the catalog from the manifests found in `output_dir`; returns the run count."""
    output_dir = Path(output_dir or default_output_dir())
    runs = [m.parent for m in sorted(output_dir.glob("*/manifest.json"))]
    (output_dir / CATALOG_FILE).unlink(missing_ok=True)
    for run_dir in runs:
        record(output_dir, run_dir)
    return len(runs)


def parse_since(since: str | datetime | timedelta) -> datetime:
    """A duration ago (`90s`, `1h30m`, `2d`: `rollbook.duration`), an ISO date/time, a
    datetime or a timedelta -> UTC instant."""
    if isinstance(since, timedelta):
        return datetime.now(UTC) - since
    if isinstance(since, datetime):
        return since.astimezone(UTC) if since.tzinfo else since.replace(tzinfo=UTC)
    with suppress(DurationError):
        return datetime.now(UTC) - parse_duration(since)
    try:
        return parse_since(datetime.fromisoformat(since))
    except ValueError:
        raise ValueError(
            f"since {since!r}: use a duration like {EXAMPLES} or an ISO date"
        ) from None


def list_runs(
    output_dir: Path | None = None,
    *,
    since: str | datetime | timedelta | None = None,
    runbook: str | None = None,
    outcome: str | None = None,
) -> pd.DataFrame:
    """Archived runs, newest first, as a DataFrame (times as UTC timestamps)."""
    output_dir = Path(output_dir or default_output_dir())
    clauses, args = [], []
    if since is not None:
        clauses.append("started_at >= ?")
        args.append(parse_since(since).isoformat())
    if runbook:
        clauses.append("runbook = ?")
        args.append(runbook)
    if outcome:
        clauses.append("outcome = ?")
        args.append(outcome)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    with closing(_connect(output_dir)) as conn:
        frame = pd.read_sql_query(
            f"SELECT * FROM runs {where} ORDER BY started_at DESC", conn, params=args
        )
    for column in ("started_at", "ended_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
    return frame
