"""Seed the chat schema: skewed conversations, timestamp ties, loaded before keys are built."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

import psycopg

HOT_CONVERSATIONS = 5  # a few very large conversations ...
HOT_SHARE = 0.4  # ... holding this share of all messages
CHUNKS = 10

# Hot conversations get two messages per second (timestamp ties inside a conversation);
# the rest spread over 180 days at minute resolution. Senders are always members.
MESSAGES_SQL = """
INSERT INTO messages (conversation_id, sender_id, body, created_at)
SELECT conv,
       ((conv * 7919 + (g %% 2) * 104729) %% %(users)s) + 1,
       'message ' || g || ' ' || repeat(chr(97 + (g %% 26)::int), (g %% 60)::int),
       CASE WHEN hot
            THEN timestamptz '2026-01-01 00:00:00+00' + (g / (2 * %(hot)s)) * interval '1 second'
            ELSE timestamptz '2025-06-01 00:00:00+00'
                 + ((g * 2654435761) %% 259200) * interval '1 minute'
       END
FROM (
    SELECT g, g <= %(hot_total)s AS hot,
           CASE WHEN g <= %(hot_total)s THEN (g %% %(hot)s) + 1
                ELSE %(hot)s + 1
                     + ((hashint8(g)::bigint & 2147483647) %% (%(conversations)s - %(hot)s))
           END AS conv
    FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS g
) s
"""


@dataclass
class SeedReport:
    messages: int
    users: int
    conversations: int
    load_seconds: float
    total_seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.messages / self.load_seconds if self.load_seconds else 0.0


def _sql_file(name: str) -> str:
    return resources.files("rollbook.lab").joinpath("sql", name).read_text()


def seed(
    conn: psycopg.Connection, messages: int, progress: Callable[[str], None] = print
) -> SeedReport:
    """Create the schema and load `messages` rows (conn: autocommit, as the table owner)."""
    started = time.perf_counter()
    users = max(100, messages // 200)
    conversations = max(HOT_CONVERSATIONS + 50, messages // 100)
    hot_total = int(messages * HOT_SHARE)
    conn.execute("SET synchronous_commit = off")
    conn.execute("SET maintenance_work_mem = '512MB'")
    # A seed interrupted earlier left partial tables: start over.
    conn.execute("DROP TABLE IF EXISTS messages, conversation_members, conversations, users")
    conn.execute(_sql_file("schema.sql"))
    conn.execute(
        "INSERT INTO users (name) SELECT 'user ' || g FROM generate_series(1, %s) g", [users]
    )
    conn.execute(
        "INSERT INTO conversations (title) SELECT 'conversation ' || g "
        "FROM generate_series(1, %s) g",
        [conversations],
    )
    # Members: 2-4 per conversation, 50 in each hot one; the first two are the senders.
    conn.execute(
        """
        INSERT INTO conversation_members (conversation_id, user_id)
        SELECT DISTINCT c, ((c * 7919 + j * 104729) %% %(users)s) + 1
        FROM generate_series(1, %(conversations)s) c,
             LATERAL generate_series(0, CASE WHEN c <= %(hot)s THEN 49 ELSE 1 + c %% 3 END) j
        """,
        {"users": users, "conversations": conversations, "hot": HOT_CONVERSATIONS},
    )
    load_started = time.perf_counter()
    chunk = -(-messages // CHUNKS)
    for first in range(1, messages + 1, chunk):
        last = min(messages, first + chunk - 1)
        conn.execute(
            MESSAGES_SQL,
            {
                "first": first,
                "last": last,
                "users": users,
                "conversations": conversations,
                "hot": HOT_CONVERSATIONS,
                "hot_total": hot_total,
            },
        )
        rate = last / (time.perf_counter() - load_started)
        progress(f"  seeded {last:,}/{messages:,} messages ({rate:,.0f} rows/s)")
    load_seconds = time.perf_counter() - load_started
    progress("  building keys and statistics")
    conn.execute(
        """
        UPDATE conversations c SET last_message_at = m.latest
        FROM (SELECT conversation_id, max(created_at) AS latest FROM messages GROUP BY 1) m
        WHERE m.conversation_id = c.id
        """
    )
    conn.execute(_sql_file("constraints.sql"))
    conn.execute("VACUUM (ANALYZE) users, conversations, conversation_members, messages")
    return SeedReport(messages, users, conversations, load_seconds, time.perf_counter() - started)
