"""Run one `CREATE` / `DROP INDEX CONCURRENTLY` on its own session, watched from a second one.

The statement runs on an autocommit session (a concurrent build cannot run inside a
transaction block) with the params' `lock_timeout`. While it runs, a read-only monitor
session polls `pg_stat_progress_create_index` (phase, blocks and tuples done / total) for
a progress callback, and `pg_blocking_pids` so that a lock timeout names who held the lock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass

import psycopg

from rollbook.config.endpoints import PostgresEndpoint
from rollbook.db import session
from rollbook.errors import RollbookError
from rollbook.postgres.targets import Targets

PROGRESS_SQL = """
SELECT phase, blocks_done, blocks_total, tuples_done, tuples_total,
       lockers_done, lockers_total, current_locker_pid
FROM pg_stat_progress_create_index WHERE pid = %s
"""
BLOCKERS_SQL = """
SELECT pid, usename, application_name, state,
       round(extract(epoch FROM now() - xact_start)::numeric, 1), left(query, 300)
FROM pg_stat_activity WHERE pid = ANY(pg_blocking_pids(%s)) ORDER BY pid
"""
# A build leaves its index behind INVALID (indisvalid false) when it is cancelled or killed.
INDEX_STATE_SQL = (
    "SELECT indisvalid AND indisready FROM pg_index WHERE indexrelid = to_regclass(%s)"
)


def index_state(conn: psycopg.Connection, name: str) -> str:
    """`missing`, `valid` or `invalid` (left by an interrupted concurrent build)."""
    row = conn.execute(INDEX_STATE_SQL, [name]).fetchone()
    if row is None:
        return "missing"
    return "valid" if row[0] else "invalid"


@dataclass(frozen=True)
class BuildProgress:
    """One sample of `pg_stat_progress_create_index` for the building backend."""

    phase: str
    blocks_done: int
    blocks_total: int
    tuples_done: int
    tuples_total: int
    lockers_done: int
    lockers_total: int
    current_locker_pid: int

    @property
    def done_total(self) -> tuple[int, int]:
        """The counter that moves in this phase: blocks, else tuples, else lockers waited for."""
        for done, total in (
            (self.blocks_done, self.blocks_total),
            (self.tuples_done, self.tuples_total),
            (self.lockers_done, self.lockers_total),
        ):
            if total:
                return done, total
        return 0, 0


@dataclass(frozen=True)
class Blocker:
    """A session that the statement waited for (from `pg_blocking_pids`)."""

    pid: int
    user: str
    application_name: str
    state: str
    transaction_age_seconds: float | None
    query: str

    def describe(self) -> str:
        age = (
            f", transaction open {self.transaction_age_seconds:g} s"
            if self.transaction_age_seconds is not None
            else ""
        )
        return (
            f"pid {self.pid} (user {self.user}, application_name {self.application_name!r}, "
            f"{self.state}{age}) running: {self.query}"
        )


class IndexBuildBlocked(RollbookError, RuntimeError):
    """`lock_timeout` expired; the message names the blocking sessions and their queries."""


@dataclass
class WatchedRun:
    """What the monitor saw of one statement."""

    statement: str
    seconds: float
    last_progress: BuildProgress | None
    blockers: list[Blocker]


def _blocked_message(statement: str, timeout_ms: int, run: WatchedRun) -> str:
    waiting = f" in phase {run.last_progress.phase!r}" if run.last_progress else ""
    who = "; ".join(b.describe() for b in run.blockers) or "no blocking session was caught"
    return (
        f"lock_timeout ({timeout_ms} ms) expired{waiting} for: {statement.split(' ON ')[0]} — "
        f"blocked by {who}"
    )


def _sample(monitor: psycopg.Connection, pid: int) -> tuple[BuildProgress | None, list[Blocker]]:
    row = monitor.execute(PROGRESS_SQL, [pid]).fetchone()
    progress = None
    if row:
        phase, *counters = row
        progress = BuildProgress(phase, *(0 if v is None else v for v in counters))
    blockers = [
        Blocker(pid, user, app, state, None if age is None else float(age), query)
        for pid, user, app, state, age, query in monitor.execute(BLOCKERS_SQL, [pid]).fetchall()
    ]
    return progress, blockers


def run_watched(
    params: Targets,
    statement: str,
    *,
    endpoint: PostgresEndpoint | None = None,
    on_progress: Callable[[BuildProgress], None] | None = None,
    poll_seconds: float = 0.2,
    purpose: str = "phase1",
) -> WatchedRun:
    """Execute one concurrent index statement; raise IndexBuildBlocked on a lock timeout.

    The build session has no statement_timeout (a build may take hours): `lock_timeout`
    is what protects the application, since a waiting DDL queues every writer behind it.
    An interrupt (Ctrl-C) cancels the statement on the server before re-raising.
    """
    endpoint = endpoint or params.primary
    with (
        session(endpoint, params.safety, purpose=f"{purpose}:build") as build,
        session(endpoint, params.safety, purpose=f"{purpose}:monitor", read_only=True) as monitor,
    ):
        build.execute("SET statement_timeout = 0")
        pid = build.info.backend_pid
        run = WatchedRun(statement, 0.0, None, [])
        began = time.monotonic()
        with ThreadPoolExecutor(max_workers=1) as pool:
            future = pool.submit(build.execute, statement)
            try:
                while not wait([future], timeout=poll_seconds).done:
                    progress, blockers = _sample(monitor, pid)
                    run.last_progress = progress or run.last_progress
                    run.blockers = blockers or run.blockers
                    if progress and on_progress:
                        on_progress(progress)
                future.result()
            except psycopg.errors.LockNotAvailable:
                run.seconds = time.monotonic() - began
                raise IndexBuildBlocked(
                    _blocked_message(statement, params.safety.lock_timeout_ms, run)
                ) from None
            except BaseException:
                build.cancel()
                raise
        run.seconds = time.monotonic() - began
        return run
