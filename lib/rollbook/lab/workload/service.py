"""The workload process: pools, flag polling, replica lag checks and open-loop traffic."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass, field

import psycopg
from psycopg.conninfo import make_conninfo
from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from rollbook.errors import RollbookError
from rollbook.flags import ENDPOINTS, SELECT_FLAGS
from rollbook.lab.layout import APP_USER, DATABASE, LabLayout
from rollbook.lab.workload.breaker import ReplicaBreaker
from rollbook.lab.workload.chat import Chat, Databases, Population
from rollbook.lab.workload.errors import ThrottledLog
from rollbook.lab.workload.flagview import FlagView
from rollbook.lab.workload.metrics import WorkloadMetrics
from rollbook.lab.workload.scheduler import OpenLoop, wait_or_stop
from rollbook.lab.workload.selection import plan_request, selected

log = logging.getLogger("rollbook.workload")

DEFAULT_RATES = {"history": 20.0, "send": 4.0, "conversations": 8.0}
CHECK_INTERVAL_SECONDS = 1.0

# Replica replay lag; 0 when everything received is replayed (an idle primary is not lag);
# NULL (unknown, the breaker opens) when WAL waits for replay and none was timed yet.
REPLICA_LAG = """
SELECT CASE WHEN NOT pg_is_in_recovery()
              OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
            ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp())
       END::float8"""
HOT_CONVERSATIONS = """
SELECT conversation_id FROM messages GROUP BY conversation_id ORDER BY count(*) DESC LIMIT %s"""
SPREAD_CONVERSATIONS = "SELECT id FROM conversations ORDER BY random() LIMIT %s"
MEMBERS = """
SELECT conversation_id, array_agg(user_id ORDER BY user_id) FROM conversation_members
WHERE conversation_id = ANY(%s) GROUP BY conversation_id"""


class InjectedFault(RollbookError, RuntimeError):
    """A canary request failed on purpose (flag fault.<endpoint>.error_percent)."""


@dataclass
class WorkloadConfig:
    """Traffic shape and resilience settings (the CLI options)."""

    rates: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_RATES))
    poisson: bool = True
    max_in_flight: int = 200
    request_timeout_seconds: float = 5.0
    hot_conversations: int = 5
    spread_conversations: int = 500
    hot_share: float = 0.5
    pool_size: int = 8
    cache_ttl_seconds: int = 30
    breaker_cooldown_seconds: float = 5.0
    breaker_probes: int = 3
    seed: int | None = None


def _pool(layout: LabLayout, port_name: str, size: int, pooled: bool) -> AsyncConnectionPool:
    conninfo = make_conninfo(
        host="127.0.0.1",
        port=layout.ports[port_name],
        dbname=DATABASE,
        user=APP_USER,
        password=layout.secret_file("app").read_text().strip(),
        application_name=f"rollbook-workload:{port_name}",
        connect_timeout=3,
    )
    kwargs: dict = {"autocommit": True}
    if pooled:
        kwargs["prepare_threshold"] = None  # PgBouncer transaction mode
    return AsyncConnectionPool(
        conninfo,
        kwargs=kwargs,
        min_size=1,
        max_size=size,
        open=False,
        timeout=2.0,
        name=port_name,
        reconnect_timeout=3600.0,
    )


class Workload:
    """One workload process against one lab."""

    def __init__(self, layout: LabLayout, config: WorkloadConfig, metrics: WorkloadMetrics):
        self.layout = layout
        self.config = config
        self.metrics = metrics
        self.rng = random.Random(config.seed)
        self.flags = FlagView(config.rates)
        self.breaker = ReplicaBreaker(config.breaker_cooldown_seconds, config.breaker_probes)
        self.errors = ThrottledLog(log)
        self.chat: Chat | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Serve traffic until `stop` is set, then drain requests and close connections."""
        size = self.config.pool_size
        pools = {
            name: _pool(self.layout, name, size, pooled=name == "pgbouncer")
            for name in ("primary", "replica", "pgbouncer")
            if name in self.layout.ports
        }
        for pool in pools.values():
            await pool.open(wait=False)
        redis = Redis(
            host="127.0.0.1",
            port=self.layout.ports["redis"],
            socket_timeout=1.0,
            socket_connect_timeout=1.0,
            retry=Retry(NoBackoff(), 0),  # fail fast: the request falls back to the database
        )
        db = Databases(self.metrics, **pools)
        try:
            population = await self._population(stop, db)
            if population is not None:
                self.chat = Chat(
                    db,
                    redis,
                    self.breaker,
                    self.metrics,
                    population,
                    rng=self.rng,
                    hot_share=self.config.hot_share,
                    cache_ttl_seconds=self.config.cache_ttl_seconds,
                    errors=self.errors,
                    fault=lambda name: self.flags.values[name],
                )
                await self._serve(stop, db)
        finally:
            await redis.aclose()
            for pool in pools.values():
                await pool.close(timeout=2.0)
            log.info("workload stopped")

    async def _serve(self, stop: asyncio.Event, db: Databases) -> None:
        loops = [self._open_loop(endpoint) for endpoint in ENDPOINTS]
        log.info("serving traffic at %s requests/s (until rate flags say otherwise)", self._rates())
        await asyncio.gather(
            self._poll_flags(stop, db),
            self._check_replica(stop, db),
            *(loop.run(stop) for loop in loops),
        )

    def _open_loop(self, endpoint: str) -> OpenLoop:
        return OpenLoop(
            rate=lambda: self.flags.rate(endpoint),
            handle=lambda at: self.request(endpoint, at),
            overloaded=lambda at: self.overloaded(endpoint),
            max_in_flight=self.config.max_in_flight,
            poisson=self.config.poisson,
            rng=self.rng,
        )

    def _rates(self) -> dict[str, float]:
        return {endpoint: self.flags.rate(endpoint) for endpoint in ENDPOINTS}

    async def _population(self, stop: asyncio.Event, db: Databases) -> Population | None:
        """Sample conversations from the primary, retrying until it answers or `stop`."""
        while not stop.is_set():
            try:
                population = await self._sample(db)
            except psycopg.Error as exc:
                self.errors.error("sampling conversations failed, retrying", exc)
            else:
                log.info(
                    "conversations: %d hot %s, %d spread, %d users",
                    len(population.hot),
                    population.hot,
                    len(population.spread),
                    len(population.users),
                )
                return population
            await wait_or_stop(stop, 2.0)
        return None

    async def _sample(self, db: Databases) -> Population:
        fetch = db.fetch
        cfg = self.config
        hot = [
            r[0]
            for r in await fetch(
                "sample", "primary", "direct", HOT_CONVERSATIONS, (cfg.hot_conversations,)
            )
        ]
        spread = [
            r[0]
            for r in await fetch(
                "sample", "primary", "direct", SPREAD_CONVERSATIONS, (cfg.spread_conversations,)
            )
        ]
        members = dict(await fetch("sample", "primary", "direct", MEMBERS, (hot + spread,)))
        if not members:
            raise psycopg.DataError("no conversation has members: is the lab seeded?")
        return Population(
            hot=[c for c in hot if c in members],
            spread=[c for c in spread if c in members],
            members=members,
        )

    async def request(self, endpoint: str, scheduled_at: float) -> None:
        """One request; latency is observed from `scheduled_at` (open loop)."""
        plan = plan_request(endpoint, self.flags.values, self.rng)
        try:
            async with asyncio.timeout(self.config.request_timeout_seconds):
                if plan.variant == "canary":
                    await self._inject_faults(endpoint)
                route = await getattr(self.chat, endpoint)(plan)
        except Exception as exc:  # every failure is an error outcome, never a crash
            self.metrics.requests.labels(endpoint, "error", *plan.labels()).inc()
            self.errors.error(f"{endpoint} request failed", exc)
            return
        latency = time.monotonic() - scheduled_at
        self.metrics.request_duration.labels(endpoint, route, *plan.labels()).observe(latency)
        self.metrics.requests.labels(endpoint, "ok", *plan.labels()).inc()

    def overloaded(self, endpoint: str) -> None:
        """An arrival over the in-flight bound: an error outcome."""
        plan = plan_request(endpoint, self.flags.values, self.rng)
        self.metrics.requests.labels(endpoint, "error", *plan.labels()).inc()
        self.errors.error(
            f"{endpoint} overloaded",
            RuntimeError(f"{self.config.max_in_flight} requests in flight"),
        )

    async def _inject_faults(self, endpoint: str) -> None:
        latency_ms = self.flags.values[f"fault.{endpoint}.latency_ms"]
        if latency_ms > 0:
            await asyncio.sleep(latency_ms / 1000)
        if selected(self.flags.values[f"fault.{endpoint}.error_percent"], self.rng):
            raise InjectedFault(f"fault.{endpoint}.error_percent")

    async def _poll_flags(self, stop: asyncio.Event, db: Databases) -> None:
        """Read all flags with one query every second; keep the last values on failure."""
        while not stop.is_set():
            try:
                rows = await db.fetch("flags_read", "primary", "direct", SELECT_FLAGS)
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

    async def _check_replica(self, stop: asyncio.Event, db: Databases) -> None:
        """Measure replica lag every second and feed the breaker."""
        while not stop.is_set():
            if db.pools["replica"] is not None:
                try:
                    rows = await db.fetch("replica_lag", "replica", "direct", REPLICA_LAG)
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
