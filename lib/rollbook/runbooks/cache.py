"""Phase 3: cache-aside in Redis for message history and conversation lists.

The service's cache layout is the params' `cache:` section (by default the reference layout
of `rollbook.cache.contract`: a conversation's history pages in the hash
`chat:history:<conversation>`, a user's conversation list in `chat:conversations:<user>`,
both with a TTL; a send deletes the conversation's hash and its members' lists after the
commit).

Correctness before the ramp: (1) what the *service* cached equals the database (with
`apply`, a short warm-up at a low percentage first lets the service cache some pages);
(2) a send invalidates the conversation's cached entry within a bound, measured on live
traffic with a mark the service's invalidation removes (`SendMarker`: a hash field
`rollbook:probe` the service never reads, or the cached value itself), telling a deletion
from a TTL expiry.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd
import redis

from rollbook.cache.client import redis_client
from rollbook.cache.reader import CacheReader, SendMarker
from rollbook.canary.rollout_ramps import Observed
from rollbook.db import session
from rollbook.flags import FlagStore
from rollbook.params import Params
from rollbook.runbooks import correctness
from rollbook.step import StepResult
from rollbook.verdict import Check, compare, expect

FLAGS = ("cache.history", "cache.conversations")
WARM_UP_PERCENT = 10.0
WARM_UP_BY = "rollbook: phase 3 cache warm-up"
CONSISTENCY_CHECK = "the service's cached values equal the database"
EVICTING_POLICIES = ("allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru",
                     "volatile-lfu", "volatile-random", "volatile-ttl")  # fmt: skip
RECENT_CONVERSATIONS = """
SELECT conversation_id, max(id) FROM (SELECT conversation_id, id FROM messages
ORDER BY id DESC LIMIT 500) recent GROUP BY conversation_id ORDER BY max(id) DESC LIMIT %s"""
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


def preconditions(params: Params, *, max_ping_ms: float = 25.0, pings: int = 50) -> StepResult:
    """Redis answers, has a memory limit with an evicting policy, and answers fast."""
    r = redis_client(params.redis)
    try:
        info = r.info("memory")
        timings = []
        for _ in range(pings):
            began = time.perf_counter()
            r.ping()
            timings.append((time.perf_counter() - began) * 1000)
    except redis.RedisError as exc:
        return StepResult(pd.DataFrame(), [expect("Redis reachable", False, detail=str(exc)[:200])])
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
    return StepResult(
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


def memory(params: Params) -> dict[str, int]:
    """Redis memory, keys and evictions right now (before/after the ramps)."""
    r = redis_client(params.redis)
    info = {**r.info("memory"), **r.info("stats")}
    return {
        "used_memory_bytes": int(info["used_memory"]),
        "maxmemory_bytes": int(info.get("maxmemory", 0)),
        "evicted_keys": int(info.get("evicted_keys", 0)),
        "keys": int(r.dbsize()),
    }


# -- correctness --------------------------------------------------------------------------


@contextmanager
def warmed_up(
    params: Params, percent: float, run_id: str | None = None
) -> Iterator[dict[str, float]]:
    """With `apply`: the cache flags raised to `percent` (never lowered) for the block, then
    set back to what they were, audited under `run_id` (the archived run); yields the flags
    raised and their old values. A dry run changes nothing."""
    if not params.safety.apply:
        yield {}
        return
    with session(params.primary, params.safety, purpose="cache warm-up") as conn:
        store = FlagStore(conn)
        store.ensure_schema()
        raised = {f: v for f in FLAGS if (v := store.get(f) or 0.0) < percent}
        try:
            for flag in raised:
                store.set(flag, percent, run_id=run_id, by=WARM_UP_BY)
            yield raised
        finally:
            for flag, value in raised.items():
                store.set(flag, value, run_id=run_id, by=WARM_UP_BY)


def _wait_for_entries(reader: CacheReader, wanted: int, timeout_seconds: float) -> None:
    """Return once the service has cached `wanted` entries, or the time is up."""
    deadline = time.monotonic() + timeout_seconds
    while len(reader.entries(wanted)) < wanted:
        if time.monotonic() >= deadline:
            return
        time.sleep(1.0)


@dataclass
class Consistency:
    """The service's cache entries compared with the database, and the warm-up before."""

    found: correctness.CacheComparison
    raised: dict[str, float]
    checks: list[Check]

    @property
    def table(self) -> pd.DataFrame:
        f = self.found
        return pd.DataFrame(
            [
                ("flags raised for the warm-up", ", ".join(self.raised) or "none"),
                ("service entries sampled", f.sampled),
                ("service entries compared", f.compared),
                ("gone before read", f.vanished),
                ("changed while checked", f.changed_meanwhile),
                ("differ from the database", len(f.mismatched)),
            ],
            columns=["item", "value"],
        )


def consistency(
    params: Params,
    *,
    sample_size: int = 20,
    warm_up_percent: float = WARM_UP_PERCENT,
    warm_up_seconds: float = 30.0,
    run_id: str | None = None,
) -> Consistency:
    """What the *service* cached against the database. With `apply` the cache flags are
    raised to `warm_up_percent` until `sample_size` entries are cached (at most
    `warm_up_seconds`), sampled while warm and set back; a dry run samples what is cached.
    Nothing of the service's compared is no data. The warm-up's flag changes are audited
    under `run_id`, the archived run's."""
    reader = correctness.cache_reader(params)
    with warmed_up(params, warm_up_percent, run_id) as raised:
        _wait_for_entries(reader, sample_size, warm_up_seconds if params.safety.apply else 0)
        found = correctness.sample_and_compare(params, sample_size)
    check = found.check(CONSISTENCY_CHECK, required=params.safety.apply)
    return Consistency(found, raised, [check])


# -- invalidation -------------------------------------------------------------------------


@dataclass
class Probe:
    """The mark on one conversation's cached entry: when the entry expires by its TTL
    (estimated low, from before the poll that read it) and when a send was seen after
    the probe was armed. Not `armed`: nothing cached to mark yet (a key holding its value)."""

    expires_at: float = math.inf
    sent_at: float | None = None
    fresh: bool = True  # armed since the last read of new messages
    armed: bool = True

    def update(self, polled_at: float, ttl_ms: int) -> None:
        self.expires_at = polled_at + ttl_ms / 1000 if ttl_ms >= 0 else math.inf

    def judge(
        self, present: bool, ttl_ms: int, polled_at: float, now: float, max_seconds: float
    ) -> str | None:
        """After one poll: `deleted` (gone before its TTL ran out, after a send), `kept`
        (still there `max_seconds` after a send), `rearm` (expired by its TTL, or deleted by
        a send not seen), None (keep watching)."""
        waited = None if self.sent_at is None else now - self.sent_at
        if present:
            self.update(polled_at, ttl_ms)
            return "kept" if waited is not None and waited > max_seconds else None
        return "deleted" if waited is not None and now < self.expires_at else "rearm"


@dataclass
class Invalidation:
    """Seconds from a send's row being visible to its conversation's cache entry gone."""

    samples: pd.DataFrame
    check: Check


def invalidation(
    params: Params,
    *,
    conversations: int = 20,
    samples: int = 5,
    timeout_seconds: float = 20.0,
    max_seconds: float = 5.0,
    poll_seconds: float = 0.05,
) -> Invalidation:
    """Arm a probe on the `cache.probe_query` entry (the first history page) of recently
    active conversations, then watch new messages (primary) and the marks (Redis) until
    `samples` sends were judged.

    A send counts only if it became visible after its probe was armed. Its mark gone
    before the entry's TTL ran out was deleted: invalidated after the seconds since the
    send. A mark gone at its TTL expired, which proves nothing: the probe is armed again.
    A mark still there `max_seconds` after the send is a send that did not invalidate."""
    marker = correctness.cache_reader(params).marker()
    measured: list[tuple[int, float, bool]] = []  # conversation, seconds, deleted
    with session(params.primary, params.safety, purpose="cache probe", read_only=True) as conn:
        recent = conn.execute(RECENT_CONVERSATIONS, (conversations,)).fetchall()
        last_id = max((m for _, m in recent), default=0)
        probes = {c: _arm(marker, c) for c, _ in recent}
        deadline = time.monotonic() + timeout_seconds
        while probes and len(measured) < samples and time.monotonic() < deadline:
            for message_id, c in conn.execute(NEW_MESSAGES, (last_id,)).fetchall():
                last_id = max(last_id, message_id)
                probe = probes.get(c)
                if probe and probe.armed and not probe.fresh and probe.sent_at is None:
                    probe.sent_at = time.monotonic()
            for probe in probes.values():
                probe.fresh = False
            polled_at = time.monotonic()
            answers = marker.poll(list(probes))
            now = time.monotonic()
            for (c, probe), (present, ttl_ms) in zip(list(probes.items()), answers, strict=True):
                outcome = probe.judge(present, ttl_ms, polled_at, now, max_seconds)
                if outcome == "rearm":
                    probes[c] = _arm(marker, c)
                elif outcome and probe.sent_at is not None:  # judged only after a send
                    measured.append((c, now - probe.sent_at, outcome == "deleted"))
                    marker.disarm(c)
                    del probes[c]
            time.sleep(poll_seconds)
        for c in probes:
            marker.disarm(c)
    frame = pd.DataFrame(measured, columns=["conversation", "seconds", "deleted"])
    worst = None if frame.empty else float(frame["seconds"].max())
    kept = int((~frame["deleted"]).sum())
    check = compare(
        "a send invalidates the conversation's cached pages",
        worst,
        "<=",
        max_seconds,
        unit="s",
        required=params.safety.apply,
        detail=f"worst of {len(frame)} sends (poll every {poll_seconds:g} s); "
        f"{kept} left the cached page in place for over {max_seconds:g} s",
    )
    return Invalidation(frame, check)


def _arm(marker: SendMarker, conversation: int) -> Probe:
    polled_at = time.monotonic()
    ttl_ms = marker.arm(conversation)
    probe = Probe(armed=ttl_ms is not None)
    if ttl_ms is not None:
        probe.update(polled_at, ttl_ms)
    return probe
