"""Phase 3: cache-aside in Redis for message history and conversation lists.

The cache contract is the service's (`rollbook.lab.workload.chat`): a conversation's
history pages live in the hash `chat:history:<conversation>` (field `first` for the first
page), a user's conversation list in `chat:conversations:<user>`, both with a TTL; a send
deletes the conversation's hash and its members' lists after the commit.

Correctness before the ramp: (1) what the cache holds for recently active conversations
equals the database (with `apply`, missing entries are first filled the way the service
fills them); (2) a send invalidates the conversation's cached pages within a bound,
measured on live traffic with a probe field (`rollbook:probe`) the service never reads.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd
import redis

from rollbook.config import Params
from rollbook.db import session
from rollbook.lab.workload.chat import (
    CONVERSATIONS,
    HISTORY_FIRST_PAGE,
    conversations_key,
    history_key,
)
from rollbook.phases.preflight import Section, redis_client
from rollbook.phases.ramps import Observed
from rollbook.verdict import compare, expect

FLAGS = ("cache.history", "cache.conversations")
FIRST_PAGE = "first"
PROBE_FIELD = "rollbook:probe"
PROBE_TTL_SECONDS = 120
FILL_TTL_SECONDS = 30
EVICTING_POLICIES = ("allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru",
                     "volatile-lfu", "volatile-random", "volatile-ttl")  # fmt: skip
RECENT_CONVERSATIONS = """
SELECT conversation_id, max(id) FROM (SELECT conversation_id, id FROM messages
ORDER BY id DESC LIMIT 500) recent GROUP BY conversation_id ORDER BY max(id) DESC LIMIT %s"""
MEMBERS = "SELECT user_id FROM conversation_members WHERE conversation_id = ANY(%s) LIMIT %s"
NEW_MESSAGES = "SELECT id, conversation_id FROM messages WHERE id > %s ORDER BY id"
SERIES = [
    "cache_hit_ratio",
    "cache_operations_rps",
    "redis_hit_ratio",
    "latency_p95_by_endpoint_seconds",
    "read_routing_share",
]


def during_ramps(min_hit_ratio: float = 0.2) -> list[Observed]:
    """What the cache must reach by the end of the ramps (hit ratio: worst = lowest)."""
    return [
        Observed("cache_hit_ratio", ">=", min_hit_ratio, worst="min"),
        Observed("error_ratio", "<", 0.01),
    ]


# -- preconditions ------------------------------------------------------------------------


def preconditions(params: Params, *, max_ping_ms: float = 25.0, pings: int = 50) -> Section:
    """Redis answers, has a memory limit with an evicting policy, and answers fast."""
    r = redis_client(params)
    try:
        info = r.info("memory")
        timings = []
        for _ in range(pings):
            began = time.perf_counter()
            r.ping()
            timings.append((time.perf_counter() - began) * 1000)
    except redis.RedisError as exc:
        return Section(pd.DataFrame(), [expect("Redis reachable", False, detail=str(exc)[:200])])
    maxmemory = int(info.get("maxmemory", 0))
    policy = str(info.get("maxmemory_policy", "unknown"))
    p95 = float(np.percentile(timings, 95))
    table = pd.DataFrame(
        [
            ("maxmemory (bytes)", maxmemory),
            ("maxmemory_policy", policy),
            ("used_memory (bytes)", int(info.get("used_memory", 0))),
            (f"PING p50 over {pings} (ms)", round(float(np.percentile(timings, 50)), 3)),
            (f"PING p95 over {pings} (ms)", round(p95, 3)),
        ],
        columns=["item", "value"],
    )
    return Section(
        table,
        [
            expect("Redis reachable", True),
            compare("Redis maxmemory set", maxmemory, ">", 0, unit="bytes"),
            expect(
                "Redis evicts when full (maxmemory_policy)",
                policy in EVICTING_POLICIES,
                detail=f"{policy}; noeviction makes cache writes fail when memory is full",
            ),
            compare("Redis PING p95", p95, "<=", max_ping_ms, unit="ms"),
        ],
    )


def memory(params: Params) -> dict:
    """Redis memory, keys and evictions right now (before/after the ramps)."""
    r = redis_client(params)
    info = {**r.info("memory"), **r.info("stats")}
    return {
        "used_memory_bytes": int(info["used_memory"]),
        "maxmemory_bytes": int(info.get("maxmemory", 0)),
        "evicted_keys": int(info.get("evicted_keys", 0)),
        "keys": int(r.dbsize()),
    }


# -- correctness --------------------------------------------------------------------------


def _history_page(rows) -> list:
    return [[r[0], r[1], r[2], r[3]] for r in rows]


def _cached_history(raw: bytes) -> list:
    return [[i, s, b, datetime.fromisoformat(t)] for i, s, b, t in json.loads(raw)]


def _listing(rows) -> list:
    return [[r[0], r[1], r[2]] for r in rows]


def _cached_listing(raw: bytes) -> list:
    return [[i, t, datetime.fromisoformat(at)] for i, t, at in json.loads(raw)]


def _serialise_page(rows) -> str:
    return json.dumps([[r[0], r[1], r[2], r[3].isoformat()] for r in rows])


def _serialise_listing(rows) -> str:
    return json.dumps([[r[0], r[1], r[2].isoformat()] for r in rows])


@dataclass(frozen=True)
class Entry:
    """One cached value the check compares: how to read it, the database and a fill."""

    kind: str
    key: str
    cached: object  # () -> raw bytes | None
    fill: object  # (rows) -> None
    query: str
    args: tuple
    decode: object
    rows_to_value: object


def _entries(r: redis.Redis, conversations: list[int], users: list[int]) -> list[Entry]:
    entries = []
    for c in conversations:
        key = history_key(c)
        entries.append(
            Entry(
                "history",
                key,
                lambda k=key: r.hget(k, FIRST_PAGE),
                lambda rows, k=key: _fill_page(r, k, rows),
                HISTORY_FIRST_PAGE,
                (c,),
                _cached_history,
                _history_page,
            )  # fmt: skip
        )
    for u in users:
        key = conversations_key(u)
        entries.append(
            Entry(
                "conversations",
                key,
                lambda k=key: r.get(k),
                lambda rows, k=key: r.set(k, _serialise_listing(rows), ex=FILL_TTL_SECONDS),
                CONVERSATIONS,
                (u,),
                _cached_listing,
                _listing,
            )  # fmt: skip
        )
    return entries


def _fill_page(r: redis.Redis, key: str, rows) -> None:
    with r.pipeline(transaction=False) as pipe:
        pipe.hset(key, FIRST_PAGE, _serialise_page(rows)).expire(key, FILL_TTL_SECONDS)
        pipe.execute()


@dataclass
class Consistency:
    table: pd.DataFrame
    checks: list = field(default_factory=list)


def consistency(
    params: Params, *, conversations: int = 10, users: int = 10, fill: bool | None = None
) -> Consistency:
    """Cached history pages and conversation lists of recently active conversations against
    the database. `fill` (default: with `apply`) first caches missing entries from the
    database the way the service does; a mismatch is re-read once, since a send between
    the two reads legitimately changes both."""
    fill = params.safety.apply if fill is None else fill
    r = redis_client(params)
    rows = []
    with session(params.primary, params.safety, purpose="cache check", read_only=True) as conn:
        recent = [c for c, _ in conn.execute(RECENT_CONVERSATIONS, (conversations,)).fetchall()]
        members = [u for (u,) in conn.execute(MEMBERS, (recent, users)).fetchall()]
        for entry in _entries(r, recent, members):
            rows.append(_compare(conn, entry, fill))
    table = pd.DataFrame(rows, columns=["kind", "key", "state"])
    compared = table[table["state"] != "not cached"]
    stale = compared[compared["state"] == "stale"]
    check = compare(
        "cached values equal the database",
        None if compared.empty else len(stale),
        "==",
        0,
        unit="stale entries",
        required=fill,
        detail=f"{len(compared)} cached entries compared"
        + (f"; stale: {', '.join(stale['key'])}" if len(stale) else ""),
    )
    return Consistency(table, [check])


def _compare(conn, entry: Entry, fill: bool) -> tuple[str, str, str]:
    state = "not cached"
    for attempt in range(2):
        raw = entry.cached()
        if raw is None and fill and attempt == 0:
            entry.fill(conn.execute(entry.query, entry.args).fetchall())
            raw = entry.cached()
        if raw is None:
            return entry.kind, entry.key, state
        database = entry.rows_to_value(conn.execute(entry.query, entry.args).fetchall())
        if entry.decode(raw) == database:
            return entry.kind, entry.key, "equal"
        state = "stale"
        time.sleep(0.5)  # a send in flight: its invalidation lands after its commit
    return entry.kind, entry.key, state


# -- invalidation -------------------------------------------------------------------------


@dataclass
class Invalidation:
    """Seconds from a send's row being visible to its conversation's cache entry gone."""

    samples: pd.DataFrame
    check: object

    @property
    def worst_seconds(self) -> float | None:
        return None if self.samples.empty else float(self.samples["seconds"].max())


def invalidation(
    params: Params,
    *,
    conversations: int = 20,
    samples: int = 5,
    timeout_seconds: float = 20.0,
    max_seconds: float = 5.0,
    poll_seconds: float = 0.05,
) -> Invalidation:
    """Arm a probe field in the history hash of recently active conversations, then watch
    new messages (primary) and the probe (Redis) until `samples` sends were seen."""
    r = redis_client(params)
    measured: list[dict] = []
    with session(params.primary, params.safety, purpose="cache probe", read_only=True) as conn:
        recent = conn.execute(RECENT_CONVERSATIONS, (conversations,)).fetchall()
        last_id = max((m for _, m in recent), default=0)
        armed = {c: _arm(r, c) for c, _ in recent}
        seen: dict[int, float] = {}
        deadline = time.monotonic() + timeout_seconds
        while armed and len(measured) < samples and time.monotonic() < deadline:
            for message_id, c in conn.execute(NEW_MESSAGES, (last_id,)).fetchall():
                last_id = max(last_id, message_id)
                if c in armed and c not in seen:
                    seen[c] = time.monotonic()
            with r.pipeline(transaction=False) as pipe:
                for c in armed:
                    pipe.hexists(history_key(c), PROBE_FIELD)
                present = dict(zip(list(armed), pipe.execute(), strict=True))
            for c in list(armed):
                if present[c]:
                    continue
                if c in seen:
                    measured.append({"conversation": c, "seconds": time.monotonic() - seen.pop(c)})
                    del armed[c]
                else:  # expired, or deleted by a send not seen yet: arm again
                    armed[c] = _arm(r, c)
            time.sleep(poll_seconds)
        for c in armed:
            r.hdel(history_key(c), PROBE_FIELD)
    frame = pd.DataFrame(measured, columns=["conversation", "seconds"])
    worst = None if frame.empty else float(frame["seconds"].max())
    check = compare(
        "a send invalidates the conversation's cached pages",
        worst,
        "<=",
        max_seconds,
        unit="s",
        required=params.safety.apply,
        detail=f"worst of {len(frame)} sends (poll every {poll_seconds:g} s)",
    )
    return Invalidation(frame, check)


def _arm(r: redis.Redis, conversation: int) -> float:
    key = history_key(conversation)
    with r.pipeline(transaction=False) as pipe:
        pipe.hset(key, PROBE_FIELD, "1").ttl(key)
        _, ttl = pipe.execute()
    if ttl < 0:  # the probe created the key: let it expire on its own
        r.expire(key, PROBE_TTL_SECONDS)
    return time.monotonic()
