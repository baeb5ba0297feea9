"""The workload process: pools, steering (flags, replica breaker) and open-loop traffic."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass, field

from rollbook.flags import ENDPOINTS
from rollbook.lab.layout import LabLayout
from rollbook.lab.workload.breaker import ReplicaBreaker
from rollbook.lab.workload.chat import Chat, Databases
from rollbook.lab.workload.connections import lab_pool, lab_redis
from rollbook.lab.workload.errors import ThrottledLog
from rollbook.lab.workload.faults import serve
from rollbook.lab.workload.flagview import FlagView
from rollbook.lab.workload.metrics import WorkloadMetrics
from rollbook.lab.workload.sampling import wait_for_population
from rollbook.lab.workload.scheduler import OpenLoop
from rollbook.lab.workload.selection import plan_request
from rollbook.lab.workload.steering import Steering

log = logging.getLogger("rollbook.workload")

DEFAULT_RATES = {"history": 20.0, "send": 4.0, "conversations": 8.0}


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
            name: lab_pool(self.layout, name, size, pooled=name == "pgbouncer")
            for name in ("primary", "replica", "pgbouncer")
            if name in self.layout.ports
        }
        for pool in pools.values():
            await pool.open(wait=False)
        redis = lab_redis(self.layout)
        db = Databases(self.metrics, **pools)
        try:
            population = await wait_for_population(
                db,
                self.config.hot_conversations,
                self.config.spread_conversations,
                self.errors,
                stop,
            )
            if population is not None:
                log.info(
                    "conversations: %d hot %s, %d spread, %d users",
                    len(population.hot),
                    population.hot,
                    len(population.spread),
                    len(population.users),
                )
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
        steering = Steering(db, self.flags, self.breaker, self.metrics, self.errors)
        log.info("serving traffic at %s requests/s (until rate flags say otherwise)", self._rates())
        await asyncio.gather(steering.run(stop), *(loop.run(stop) for loop in loops))

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

    async def request(self, endpoint: str, scheduled_at: float) -> None:
        """One request; latency is observed from `scheduled_at` (open loop)."""
        plan = plan_request(endpoint, self.flags.values, self.rng)
        try:
            async with asyncio.timeout(self.config.request_timeout_seconds):
                if self.chat is None:
                    raise RuntimeError("no conversations sampled yet")
                route = await serve(self.chat, endpoint, plan, self.flags.values, self.rng)
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
