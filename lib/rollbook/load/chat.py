"""The lab's reference chat endpoints as request types, run by the workload's own code
(flags, cache-aside, replica routing with the breaker, fault flags). A request the flags
send through PgBouncer uses the virtual client's own connection; the direct routes
(primary, replica) use small pools per worker, as the service's would."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from prometheus_client import CollectorRegistry

from rollbook.flags import ENDPOINTS
from rollbook.lab.layout import LabLayout
from rollbook.lab.workload.breaker import ReplicaBreaker
from rollbook.lab.workload.chat import Chat, Databases
from rollbook.lab.workload.connections import lab_pool, lab_redis
from rollbook.lab.workload.errors import ThrottledLog
from rollbook.lab.workload.faults import serve
from rollbook.lab.workload.flagview import FlagView
from rollbook.lab.workload.metrics import WorkloadMetrics
from rollbook.lab.workload.sampling import sample_population
from rollbook.lab.workload.selection import plan_request
from rollbook.lab.workload.steering import Steering
from rollbook.load.clients import Client
from rollbook.load.sources import Perform
from rollbook.load.target import Target

log = logging.getLogger(__name__)
APPLICATION = "rollbook-load"


class ClientConnection:
    """A virtual client's own connection where the chat code expects a pool."""

    def __init__(self, client: Client) -> None:
        self.client = client

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection]:
        yield self.client.conn


@dataclass(frozen=True)
class ChatEndpoints:
    """`endpoints` of the lab in `lab_dir`. `flags`: fixed flag values (the rest at their
    defaults) instead of following the flag store once a second."""

    lab_dir: Path
    endpoints: tuple[str, ...] = ENDPOINTS
    flags: Mapping[str, float] | None = None
    pool_size: int = 4
    hot_conversations: int = 5
    spread_conversations: int = 500
    hot_share: float = 0.5

    def names(self) -> tuple[str, ...]:
        return self.endpoints

    @asynccontextmanager
    async def open(self, target: Target, rng: random.Random) -> AsyncIterator[Perform]:
        layout = LabLayout.load(self.lab_dir)
        metrics = WorkloadMetrics(CollectorRegistry())  # the workload's, not exported
        errors = ThrottledLog(log)
        pools = {
            name: lab_pool(layout, name, self.pool_size, pooled=False, application=APPLICATION)
            for name in ("primary", "replica")
            if name in layout.ports
        }
        redis = lab_redis(layout)
        flags = FlagView(dict.fromkeys(ENDPOINTS, 0.0))
        if self.flags is not None:
            flags.update(list(self.flags.items()))
        breaker = ReplicaBreaker()
        stop = asyncio.Event()
        steering = None
        try:
            for pool in pools.values():
                await pool.open(wait=True, timeout=10)
            shared = Databases(metrics, **pools)
            population = await sample_population(
                shared, self.hot_conversations, self.spread_conversations
            )
            steering = asyncio.create_task(
                Steering(
                    shared, flags, breaker, metrics, errors, poll_flags=self.flags is None
                ).run(stop)
            )

            def chat_of(client: Client) -> Chat:
                chat = client.state.get("chat")
                if chat is None:
                    own = Databases(metrics, pgbouncer=ClientConnection(client), **pools)
                    chat = client.state["chat"] = Chat(
                        own,
                        redis,
                        breaker,
                        metrics,
                        population,
                        rng=rng,
                        hot_share=self.hot_share,
                        errors=errors,
                        fault=lambda name: flags.values[name],
                    )
                return chat

            async def perform(name: str, client: Client) -> None:
                plan = plan_request(name, flags.values, rng)
                await serve(chat_of(client), name, plan, flags.values, rng)

            yield perform
        finally:
            stop.set()
            if steering is not None:
                await steering
            await redis.aclose()
            for pool in pools.values():
                await pool.close(timeout=1.0)
