"""Streaming replication as the primary and the replica report it: the WAL senders, and
the replica's replay lag (unknown is None, never 0)."""

from __future__ import annotations

import pandas as pd

from rollbook.db import one_row, session
from rollbook.postgres.targets import Targets, replica_of

# Replica lag in seconds, with the idle-primary fix: 0 when everything received is replayed.
# NULL (unknown) when WAL is waiting to be replayed but no transaction was replayed yet.
REPLICA_LAG_SQL = """
SELECT CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
            ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END
"""
WAL_SENDERS_SQL = """
SELECT application_name, client_addr::text, state, sync_state,
       pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) AS replay_lag_bytes
FROM pg_stat_replication"""
WAL_SENDER_COLUMNS = ["application_name", "client_addr", "state", "sync_state", "lag_bytes"]


def wal_senders(targets: Targets, purpose: str) -> pd.DataFrame:
    """One row per replica streaming from the primary (pg_stat_replication)."""
    with session(targets.primary, targets.safety, purpose=purpose, read_only=True) as conn:
        return pd.DataFrame(conn.execute(WAL_SENDERS_SQL).fetchall(), columns=WAL_SENDER_COLUMNS)


def replica_lag_seconds(targets: Targets, purpose: str) -> float | None:
    """The replica's replay lag; None when it cannot be known (WAL received and not yet
    replayed, and no replayed transaction to time it by)."""
    replica = replica_of(targets)
    with session(replica, targets.safety, purpose=purpose, read_only=True) as conn:
        (measured,) = one_row(conn, REPLICA_LAG_SQL)
    return None if measured is None else float(measured)
