"""Replica staleness as a reader sees it: write a probe row on the primary, time how long
the replica takes to show it. Phase 4 (before routing reads) and the validation ask this.

The probe's only write is its row in `rollbook.replica_probe`, deleted afterwards."""

from __future__ import annotations

import time
import uuid
from datetime import datetime

import psycopg

from rollbook.db import scalar, session
from rollbook.postgres.targets import Targets, replica_of

PROBE_TABLE = """
CREATE SCHEMA IF NOT EXISTS rollbook;
CREATE TABLE IF NOT EXISTS rollbook.replica_probe (
    probe_id   text PRIMARY KEY,
    written_at timestamptz NOT NULL
)"""
PROBE_WRITE = """
INSERT INTO rollbook.replica_probe AS p (probe_id, written_at) VALUES (%s, clock_timestamp())
ON CONFLICT (probe_id) DO UPDATE SET written_at = EXCLUDED.written_at RETURNING written_at"""
PROBE_READ = "SELECT written_at FROM rollbook.replica_probe WHERE probe_id = %s"
PROBE_DELETE = "DELETE FROM rollbook.replica_probe WHERE probe_id = %s"
POLL_SECONDS = 0.005


def probe_seconds(
    params: Targets, purpose: str, *, samples: int = 1, timeout_seconds: float = 10.0
) -> list[float | None]:
    """Seconds until the replica showed each of `samples` probe writes (None: not within
    `timeout_seconds`). Needs `params.replica`."""
    probe_id = f"rollbook-{uuid.uuid4().hex[:12]}"
    replica_endpoint = replica_of(params)
    with (
        session(params.primary, params.safety, purpose=purpose) as primary,
        session(replica_endpoint, params.safety, purpose=purpose, read_only=True) as replica,
    ):
        primary.execute(PROBE_TABLE)
        seen = []
        for _ in range(samples):
            written_at = scalar(primary, PROBE_WRITE, (probe_id,))
            seen.append(_seen(replica, probe_id, written_at, timeout_seconds))
        primary.execute(PROBE_DELETE, (probe_id,))
    return seen


def _seen(
    replica: psycopg.Connection, probe_id: str, written_at: datetime, timeout: float
) -> float | None:
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        try:
            row = replica.execute(PROBE_READ, (probe_id,)).fetchone()
        except psycopg.errors.UndefinedTable:  # the table's creation not replayed yet
            row = None
        if row is not None and row[0] >= written_at:
            return time.monotonic() - began
        time.sleep(POLL_SECONDS)
    return None
