"""What steers each request while traffic runs: the flags, read once a second, and the
replica breaker, fed by a lag check every second."""

from __future__ import annotations

import asyncio

import psycopg

from rollbook.flags import SELECT_FLAGS
from rollbook.lab.workload.breaker import ReplicaBreaker
from rollbook.lab.workload.chat import Databases
from rollbook.lab.workload.errors import ThrottledLog
from rollbook.lab.workload.flagview import FlagView
from rollbook.lab.workload.metrics import WorkloadMetrics
from rollbook.lab.workload.scheduler import wait_or_stop

CHECK_INTERVAL_SECONDS = 1.0

# Replica replay lag; 0 when everything received is replayed (an idle primary is not lag);
# NULL (unknown, the breaker opens) when WAL waits for replay and none was timed yet.
REPLICA_LAG = """
SELECT CASE WHEN NOT pg_is_in_recovery()
              OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
            ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp())
       END::float8"""


class Steering:
    """Keeps `flags` and `breaker` current until stopped. With `poll_flags` false the
    flags stay as given (a load test that pins the paths)."""

    def __init__(
        self,
        db: Databases,
        flags: FlagView,
        breaker: ReplicaBreaker,
        metrics: WorkloadMetrics,
        errors: ThrottledLog,
        *,
        poll_flags: bool = True,
    ) -> None:
        self.db = db
        self.flags = flags
        self.breaker = breaker
        self.metrics = metrics
        self.errors = errors
        self.poll_flags = poll_flags

    async def run(self, stop: asyncio.Event) -> None:
        checks = [self._check_replica(stop)]
        if self.poll_flags:
            checks.append(self._poll_flags(stop))
        await asyncio.gather(*checks)

    async def _poll_flags(self, stop: asyncio.Event) -> None:
        """Read all flags with one query every second; keep the last values on failure."""
        while not stop.is_set():
            try:
                rows = await self.db.fetch("flags_read", "primary", "direct", SELECT_FLAGS)
            except psycopg.errors.UndefinedTable as exc:
                self.flags.update([])
                self.errors.error("no flags table yet, using defaults", exc)
            except psycopg.Error as exc:
                self.errors.error("reading flags failed, keeping the last values", exc)
            else:
                self.flags.update(rows)
            for name, value in self.flags.values.items():
                self.metrics.flag_value.labels(name).set(value)
            await wait_or_stop(stop, CHECK_INTERVAL_SECONDS)

    async def _check_replica(self, stop: asyncio.Event) -> None:
        """Measure replica lag every second and feed the breaker."""
        while not stop.is_set():
            if self.db.pools["replica"] is not None:
                try:
                    rows = await self.db.fetch("replica_lag", "replica", "direct", REPLICA_LAG)
                except psycopg.Error as exc:
                    lag = None
                    self.errors.error("replica lag check failed", exc)
                else:
                    lag = rows[0][0]
                    if lag is not None:
                        self.metrics.replica_lag.set(lag)
                self.breaker.record_lag(lag, self.flags.values["replica.max_lag_seconds"])
            self.metrics.breaker_state.set(int(self.breaker.state))
            await wait_or_stop(stop, CHECK_INTERVAL_SECONDS)
