"""Who talks where: the conversations and members the chat traffic is drawn from."""

from __future__ import annotations

import asyncio

import psycopg

from rollbook.lab.workload.chat import Databases, Population
from rollbook.lab.workload.errors import ThrottledLog
from rollbook.lab.workload.scheduler import wait_or_stop

HOT_CONVERSATIONS = """
SELECT conversation_id FROM messages GROUP BY conversation_id ORDER BY count(*) DESC LIMIT %s"""
SPREAD_CONVERSATIONS = "SELECT id FROM conversations ORDER BY random() LIMIT %s"
MEMBERS = """
SELECT conversation_id, array_agg(user_id ORDER BY user_id) FROM conversation_members
WHERE conversation_id = ANY(%s) GROUP BY conversation_id"""


async def sample_population(db: Databases, hot_count: int, spread_count: int) -> Population:
    """The `hot_count` largest conversations, `spread_count` random ones, their members."""

    async def ids(query: str, count: int) -> list[int]:
        return [r[0] for r in await db.fetch("sample", "primary", "direct", query, (count,))]

    hot = await ids(HOT_CONVERSATIONS, hot_count)
    spread = await ids(SPREAD_CONVERSATIONS, spread_count)
    members = dict(await db.fetch("sample", "primary", "direct", MEMBERS, (hot + spread,)))
    if not members:
        raise psycopg.DataError("no conversation has members: is the lab seeded?")
    return Population(
        hot=[c for c in hot if c in members],
        spread=[c for c in spread if c in members],
        members=members,
    )


async def wait_for_population(
    db: Databases, hot_count: int, spread_count: int, errors: ThrottledLog, stop: asyncio.Event
) -> Population | None:
    """`sample_population`, retried every 2 s until the primary answers (None: stopped)."""
    while not stop.is_set():
        try:
            return await sample_population(db, hot_count, spread_count)
        except psycopg.Error as exc:
            errors.error("sampling conversations failed, retrying", exc)
        await wait_or_stop(stop, 2.0)
    return None
