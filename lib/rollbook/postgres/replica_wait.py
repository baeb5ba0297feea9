"""Wait until the replica has replayed the primary's current WAL position.

A change made on the primary (an index, its statistics) reaches a streaming replica when
the replica has replayed the WAL that describes it: read `pg_current_wal_lsn()` on the
primary, then poll `pg_last_wal_replay_lsn()` on the replica until it is at least that.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from rollbook.db import one_row, scalar, session
from rollbook.postgres.targets import Targets, replica_of
from rollbook.verdict import Check, expect

BEHIND_SQL = """
SELECT pg_last_wal_replay_lsn()::text, pg_wal_lsn_diff(%s::pg_lsn, pg_last_wal_replay_lsn())
"""


@dataclass
class Replay:
    """How far the replica got: the primary's LSN, the replica's replayed LSN, the wait."""

    target_lsn: str
    replayed_lsn: str | None
    bytes_behind: float | None
    waited_seconds: float
    timeout_seconds: float

    @property
    def caught_up(self) -> bool:
        return self.bytes_behind is not None and self.bytes_behind <= 0

    def check(self) -> Check:
        if self.replayed_lsn is None:
            detail = "the replica is not in recovery (pg_last_wal_replay_lsn() is NULL)"
        elif self.caught_up:
            detail = f"replayed {self.target_lsn} in {self.waited_seconds:.1f} s"
        else:
            detail = (
                f"still {self.bytes_behind:,.0f} bytes behind {self.target_lsn} "
                f"after {self.timeout_seconds:g} s"
            )
        return expect("replica replayed the primary's WAL position", self.caught_up, detail=detail)


def wait_for_replay(
    params: Targets, timeout_seconds: float = 60, poll_seconds: float = 0.2
) -> Replay:
    """Poll the replica until it has replayed the primary's current LSN, or the timeout."""
    replica = replica_of(params)
    with session(params.primary, params.safety, purpose="replay-wait", read_only=True) as conn:
        target = scalar(conn, "SELECT pg_current_wal_lsn()::text")
    began = time.monotonic()
    with session(replica, params.safety, purpose="replay-wait", read_only=True) as conn:
        while True:
            replayed, behind = one_row(conn, BEHIND_SQL, [target])
            waited = time.monotonic() - began
            replay = Replay(
                target, replayed, None if behind is None else float(behind), waited, timeout_seconds
            )
            if replayed is None or replay.caught_up or waited >= timeout_seconds:
                return replay
            time.sleep(poll_seconds)
