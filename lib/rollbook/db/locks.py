"""One advisory lock per (runbook, target): two runs of the same step never overlap.

The lock is session-level (`pg_try_advisory_lock`) on the primary: it lives as long as the
connection that took it, so a killed kernel releases it with its connection.
"""

from __future__ import annotations

import hashlib

import psycopg

from rollbook.config.endpoints import PostgresEndpoint
from rollbook.db.session import scalar
from rollbook.errors import Busy

_HOLDER_QUERY = """
SELECT a.pid, a.application_name, a.backend_start, a.client_addr::text, a.usename
FROM pg_locks l
JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted
  AND l.classid = %(classid)s AND l.objid = %(objid)s AND l.objsubid = 1
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""


class LockBusy(Busy, RuntimeError):
    """Another session holds the lock of this runbook on this target."""


def target_of(endpoint: PostgresEndpoint) -> str:
    """The database a lock protects, as `host:port/dbname`."""
    return f"{endpoint.host}:{endpoint.port}/{endpoint.dbname}"


def lock_key(runbook: str, target: str) -> int:
    """A stable signed 64-bit key for `pg_try_advisory_lock(bigint)`."""
    digest = hashlib.blake2b(f"rollbook:{runbook}@{target}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _holder(conn: psycopg.Connection, key: int) -> str:
    unsigned = key & 0xFFFF_FFFF_FFFF_FFFF
    row = conn.execute(
        _HOLDER_QUERY, {"classid": unsigned >> 32, "objid": unsigned & 0xFFFF_FFFF}
    ).fetchone()
    if row is None:
        return "a session that has just ended"
    pid, app, backend_start, client, user = row
    return (
        f"pid {pid}, application_name {app!r}, user {user}, client {client or 'local socket'}, "
        f"backend started {backend_start:%Y-%m-%d %H:%M:%S %Z}"
    )


def try_lock(conn: psycopg.Connection, runbook: str, target: str) -> int:
    """Take the lock on `conn` or raise LockBusy naming the holder at once; returns the key."""
    key = lock_key(runbook, target)
    got = scalar(conn, "SELECT pg_try_advisory_lock(%s)", (key,))
    if not got:
        raise LockBusy(
            f"runbook {runbook} is already running against {target}; "
            f"the lock is held by {_holder(conn, key)}"
        )
    return key


def unlock(conn: psycopg.Connection, key: int) -> None:
    """Release a lock taken by `try_lock` on the same connection."""
    conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
