"""The chat service's three endpoints: SQL, cache-aside in Redis, replica routing. The cache
entries follow the reference layout of `rollbook.cache.contract`."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import psycopg
from redis.asyncio import Redis
from redis.exceptions import RedisError

from rollbook.cache.contract import (
    conversations_key,
    decode_rows,
    encode_rows,
    history_field,
    history_key,
)
from rollbook.lab.workload.breaker import ReplicaBreaker
from rollbook.lab.workload.errors import ThrottledLog
from rollbook.lab.workload.metrics import WorkloadMetrics
from rollbook.lab.workload.selection import Plan, selected

PAGE_SIZE = 50
CONVERSATIONS_LIMIT = 20

HISTORY_FIRST_PAGE = """
SELECT id, sender_id, body, created_at FROM messages
WHERE conversation_id = %s
ORDER BY created_at DESC, id DESC LIMIT 50"""
# Keyset cursor as a row comparison, so the index bounds the scan (see FACTS.md).
HISTORY_NEXT_PAGE = """
SELECT id, sender_id, body, created_at FROM messages
WHERE conversation_id = %s AND (created_at, id) < (%s, %s)
ORDER BY created_at DESC, id DESC LIMIT 50"""
CONVERSATIONS = """
SELECT c.id, c.title, c.last_message_at FROM conversations c
JOIN conversation_members m ON m.conversation_id = c.id
WHERE m.user_id = %s
ORDER BY c.last_message_at DESC, c.id DESC LIMIT 20"""
INSERT_MESSAGE = """
INSERT INTO messages (conversation_id, sender_id, body) VALUES (%s, %s, %s)"""
BUMP_CONVERSATION = """
UPDATE conversations SET last_message_at = now() WHERE id = %s"""


class Connections(Protocol):
    """Where a route's connections come from: a pool, or one client's own connection."""

    def connection(self) -> AbstractAsyncContextManager[psycopg.AsyncConnection]: ...


class Databases:
    """Connections by route (replica and pgbouncer optional); timed queries."""

    def __init__(
        self,
        metrics: WorkloadMetrics,
        primary: Connections,
        replica: Connections | None = None,
        pgbouncer: Connections | None = None,
    ) -> None:
        self.metrics = metrics
        self.pools = {"primary": primary, "replica": replica, "pgbouncer": pgbouncer}

    def pool(self, target: str, via: str) -> Connections:
        """The pool for a target (primary|replica) reached directly or via PgBouncer."""
        route = (
            "replica" if target == "replica" else ("pgbouncer" if via == "pgbouncer" else "primary")
        )
        pool = self.pools[route]
        if pool is None:
            raise RuntimeError(f"the lab has no {route} configured")
        return pool

    async def fetch(self, operation: str, target: str, via: str, query: str, args: tuple = ()):
        """Run one query and return its rows, timing it in chat_db_query_duration_seconds."""
        pool = self.pool(target, via)
        start = time.perf_counter()
        async with pool.connection() as conn:
            rows = await (await conn.execute(query, args)).fetchall()
        self.metrics.db_query_duration.labels(operation, target, via).observe(
            time.perf_counter() - start
        )
        return rows


@dataclass
class Population:
    """Who talks where: hot (large) conversations, a random spread, and their members."""

    hot: list[int]
    spread: list[int]
    members: dict[int, list[int]]
    users: list[int] = field(init=False)

    def __post_init__(self) -> None:
        self.users = sorted({u for ids in self.members.values() for u in ids})

    def conversation(self, rng: random.Random, hot_share: float) -> int:
        if self.hot and (not self.spread or rng.random() < hot_share):
            return rng.choice(self.hot)
        return rng.choice(self.spread)


class Chat:
    """Endpoint handlers. Each returns the route its answer came from."""

    def __init__(
        self,
        db: Databases,
        redis: Redis,
        breaker: ReplicaBreaker,
        metrics: WorkloadMetrics,
        population: Population,
        *,
        rng: random.Random,
        hot_share: float = 0.5,
        next_page_share: float = 0.3,
        cache_ttl_seconds: int = 30,
        errors: ThrottledLog,
        fault: Callable[[str], float] = lambda name: 0.0,
    ) -> None:
        self.db = db
        self.redis = redis
        self.breaker = breaker
        self.metrics = metrics
        self.population = population
        self.rng = rng
        self.hot_share = hot_share
        self.next_page_share = next_page_share
        self.cache_ttl_seconds = cache_ttl_seconds
        self.errors = errors
        self.fault = fault  # a lab fault flag's value (`fault.cache.*`)
        self.cursors: dict[int, tuple[datetime, int]] = {}

    # -- database ---------------------------------------------------------------------

    async def _read(self, operation: str, plan: Plan, query: str, args: tuple):
        """Rows and route: the replica if planned and the breaker allows, else the primary."""
        if plan.replica and self.db.pools["replica"] is not None and self.breaker.allows_replica():
            try:
                rows = await self.db.fetch(operation, "replica", "direct", query, args)
            except psycopg.Error as exc:
                self.breaker.record_failure()
                self.errors.error("replica read failed, falling back to the primary", exc)
            else:
                self.breaker.record_success()
                return rows, "replica"
        via = "pgbouncer" if plan.pgbouncer else "direct"
        rows = await self.db.fetch(operation, "primary", via, query, args)
        return rows, "pgbouncer" if plan.pgbouncer else "primary"

    # -- cache ------------------------------------------------------------------------

    async def _cache_get(self, endpoint: str, getter):
        try:
            cached = await getter()
        except RedisError as exc:
            self.metrics.cache_requests.labels(endpoint, "error").inc()
            self.errors.error("cache read failed", exc)
            return None
        self.metrics.cache_requests.labels(endpoint, "hit" if cached else "miss").inc()
        return cached

    def _to_cache(self, rows: list) -> list:
        """The rows a fill stores: all of them, or (fault) a stale page without the newest."""
        return (
            rows[1:] if selected(self.fault("fault.cache.wrong_value_percent"), self.rng) else rows
        )

    async def _cache_fill(self, setter) -> None:
        try:
            await setter()
        except RedisError as exc:
            self.errors.error("cache fill failed", exc)

    # -- endpoints --------------------------------------------------------------------

    async def history(self, plan: Plan) -> str:
        """One page of a conversation's history: the first, or the next after a cursor."""
        conversation = self.population.conversation(self.rng, self.hot_share)
        cursor = self.cursors.get(conversation)
        if cursor is None or self.rng.random() >= self.next_page_share:
            cursor = None
        field_name = history_field(cursor)
        key = history_key(conversation)
        if plan.cache:
            cached = await self._cache_get("history", lambda: self.redis.hget(key, field_name))
            if cached:
                page = decode_rows(cached, f"{key} {field_name}")
                last = page and (datetime.fromisoformat(page[-1][3]), page[-1][0])
                self._remember_cursor(conversation, len(page), last)
                return "cache"
        if cursor is None:
            rows, route = await self._read(
                "history_first_page", plan, HISTORY_FIRST_PAGE, (conversation,)
            )
        else:
            rows, route = await self._read(
                "history_next_page", plan, HISTORY_NEXT_PAGE, (conversation, *cursor)
            )
        self._remember_cursor(conversation, len(rows), rows and (rows[-1][3], rows[-1][0]))
        if plan.cache:
            stored = encode_rows(self._to_cache(rows))
            await self._cache_fill(lambda: self._store_page(key, field_name, stored))
        return route

    def _remember_cursor(self, conversation: int, page_len: int, last) -> None:
        """Keep the cursor after a full page, for a later next-page request."""
        if page_len == PAGE_SIZE:
            self.cursors[conversation] = last
        else:
            self.cursors.pop(conversation, None)

    async def _store_page(self, key: str, field_name: str, page: str) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hset(key, field_name, page)
            pipe.expire(key, self.cache_ttl_seconds)
            await pipe.execute()

    async def conversations(self, plan: Plan) -> str:
        """A user's conversation list, most recently active first. The user is a member of a
        conversation drawn as history draws them: the members of busy conversations reload
        their list most (drawn from all users alike, a 2,000,000-message lab's 10,000 lists
        were almost never cached again within their TTL, and the cache only added its round
        trips)."""
        conversation = self.population.conversation(self.rng, self.hot_share)
        user = self.rng.choice(self.population.members[conversation])
        key = conversations_key(user)
        if plan.cache and await self._cache_get("conversations", lambda: self.redis.get(key)):
            return "cache"
        rows, route = await self._read("conversations", plan, CONVERSATIONS, (user,))
        if plan.cache:
            listing = encode_rows(self._to_cache(rows))
            await self._cache_fill(lambda: self.redis.set(key, listing, ex=self.cache_ttl_seconds))
        return route

    async def send(self, plan: Plan) -> str:
        """Insert a message and bump the conversation in one transaction; acknowledge after
        the commit; then invalidate the conversation's cached pages and its members' lists."""
        conversation = self.population.conversation(self.rng, self.hot_share)
        members = self.population.members[conversation]
        sender = self.rng.choice(members)
        via = "pgbouncer" if plan.pgbouncer else "direct"
        pool = self.db.pool("primary", via)
        start = time.perf_counter()
        async with pool.connection() as conn, conn.transaction():
            await conn.execute(INSERT_MESSAGE, (conversation, sender, "hello"))
            await conn.execute(BUMP_CONVERSATION, (conversation,))
        self.db.metrics.db_query_duration.labels("send", "primary", via).observe(
            time.perf_counter() - start
        )
        self.metrics.sends_acknowledged.inc()
        if not selected(self.fault("fault.cache.skip_invalidation_percent"), self.rng):
            await self._invalidate(conversation, members)
        return "pgbouncer" if plan.pgbouncer else "primary"

    async def _invalidate(self, conversation: int, members: list[int]) -> None:
        keys = [history_key(conversation), *map(conversations_key, members)]
        start = time.perf_counter()
        try:
            await self.redis.delete(*keys)
        except RedisError as exc:
            self.metrics.cache_requests.labels("send", "error").inc()
            self.errors.error("cache invalidation failed", exc)
            return
        self.metrics.cache_invalidation_duration.observe(time.perf_counter() - start)
        self.metrics.cache_invalidations.inc()
