"""`rollbook.ramps`: one row per ramp run, so a ramp killed mid-way is found by the next run.

A row stays `running` (or `rolling back`) while its run works and `paused` when the run
stopped at an inconclusive step; all three are *unfinished* and the next ramp of the same
flag must resume or roll back first. One advisory lock per flag keeps two live ramps of
the same flag apart, so an unfinished row is never another run's live state.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg.types.json import Jsonb

from rollbook.db.locks import try_lock, unlock

SCHEMA = """
CREATE SCHEMA IF NOT EXISTS rollbook;
CREATE TABLE IF NOT EXISTS rollbook.ramps (
    run_id         text PRIMARY KEY,
    flag           text        NOT NULL,
    previous_value jsonb       NOT NULL,
    steps          jsonb       NOT NULL,
    step_index     int         NOT NULL DEFAULT 0,
    status         text        NOT NULL,
    trigger        text,
    started_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS ramps_flag_status ON rollbook.ramps (flag, status);
"""
UNFINISHED = ("running", "rolling back", "paused")


@dataclass(frozen=True)
class RampState:
    run_id: str
    flag: str
    previous_value: float
    steps: list[float]
    step_index: int
    status: str


class RampStates:
    """Ramp rows on one autocommit connection to the primary (the flags' database)."""

    def __init__(self, conn: psycopg.Connection, target: str) -> None:
        self.conn = conn
        self.target = target

    def claim(self, flag: str) -> None:
        """Create the table if missing and take the flag's ramp lock (LockBusy if held)."""
        with self.conn.transaction():
            self.conn.execute(SCHEMA)
        self._lock = try_lock(self.conn, f"ramp {flag}", self.target)

    def release(self) -> None:
        """Release the flag's ramp lock taken by `claim`."""
        unlock(self.conn, self._lock)

    def unfinished(self, flag: str) -> RampState | None:
        """The latest ramp of `flag` that neither finished nor was resolved."""
        row = self.conn.execute(
            "SELECT run_id, flag, previous_value, steps, step_index, status FROM rollbook.ramps"
            " WHERE flag = %s AND status = ANY(%s) ORDER BY updated_at DESC LIMIT 1",
            (flag, list(UNFINISHED)),
        ).fetchone()
        return RampState(*row) if row else None

    def begin(self, state: RampState) -> None:
        self.conn.execute(
            "INSERT INTO rollbook.ramps (run_id, flag, previous_value, steps, step_index, status)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            (
                state.run_id,
                state.flag,
                Jsonb(state.previous_value),
                Jsonb(state.steps),
                state.step_index,
                state.status,
            ),
        )

    def update(
        self, run_id: str, status: str, step_index: int | None = None, trigger: str | None = None
    ) -> None:
        self.conn.execute(
            "UPDATE rollbook.ramps SET status = %s, step_index = coalesce(%s, step_index),"
            " trigger = coalesce(%s, trigger), updated_at = now() WHERE run_id = %s",
            (status, step_index, trigger, run_id),
        )
