"""A service that is not the reference workload, as far as its cache goes: one string key per
page under `inbox/v2/`, rows as JSON objects by column name with timestamps in UTC+2, and
optionally zlib-compressed (which only `cached_rows`, a reader function, reads). It lives in
its own Redis database of the test lab. Tests fill it from the database and it plays the
service's invalidation: after each new message it deletes that conversation's pages and
its members' lists (unless told not to)."""

from __future__ import annotations

import json
import threading
import zlib
from datetime import datetime, timedelta, timezone
from typing import Any

import psycopg
import redis

from rollbook.cache.client import redis_client
from rollbook.cache.contract import Template
from rollbook.db import session
from rollbook.params import Params
from rollbook.runbooks.cache import RECENT_CONVERSATIONS

DB = 1  # the lab Redis's database for this cache (the workload's is 0)
LAYOUT = {
    "history_first_page": {"key": "inbox/v2/conversation/{conversation_id}/newest"},
    "history_next_page": {
        "key": "inbox/v2/conversation/{conversation_id}/before/{before_id}/{before_created_at}"
    },
    "conversation_list": {"key": "inbox/v2/user/{user_id}/conversations"},
}
CONVERSATION_KEYS = Template("inbox/v2/conversation/{conversation_id}/*")
ZONE = timezone(timedelta(hours=2))
TTL_SECONDS = 300
NEW_MESSAGES = "SELECT id, conversation_id FROM messages WHERE id > %s"
MEMBERS = "SELECT user_id FROM conversation_members WHERE conversation_id = %s ORDER BY user_id"
LOOKBACK_IDS = 200  # ids commit out of order: look back this far for ones not seen yet


def key(query: str, **args: Any) -> str:
    return Template(LAYOUT[query]["key"]).format(**args)


def cached_rows(client: redis.Redis, query: str, args: dict[str, Any]) -> list | None:
    """The reader function of the compressed variant (named in the params' `cache.reader`)."""
    raw = client.get(key(query, **args))
    return None if raw is None else json.loads(zlib.decompress(raw))


def _spelled(value: Any) -> Any:
    return value.astimezone(ZONE).isoformat() if isinstance(value, datetime) else value


class OtherService:
    """The other service's cache, filled and invalidated by the test (a context manager: the
    invalidation runs while it is open; its Redis database is emptied at the end)."""

    def __init__(self, params: Params, *, compressed: bool) -> None:
        self.params = params
        self.client = redis_client(params.redis)
        self.compressed = compressed
        self.invalidates = True
        self.filled: dict[str, tuple[str, list[dict]]] = {}  # key -> query, rows
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def store(self, key_: str, rows: list[dict]) -> None:
        value = json.dumps(rows).encode()
        self.client.set(key_, zlib.compress(value) if self.compressed else value, ex=TTL_SECONDS)

    def cache(self, conn: psycopg.Connection, query: str, **args: Any) -> list[dict]:
        """Cache a named query's rows as the service does; the rows cached."""
        cur = conn.execute(self.params.queries[query].sql, args)
        columns = [c.name for c in cur.description]
        rows = [dict(zip(columns, map(_spelled, row), strict=True)) for row in cur.fetchall()]
        self.store(key(query, **args), rows)
        self.filled[key(query, **args)] = (query, rows)
        return rows

    def _fill(self, conn: psycopg.Connection, conversations: int, users: int) -> None:
        recent = [c for c, _ in conn.execute(RECENT_CONVERSATIONS, (conversations,))]
        for c in recent:
            page = self.cache(conn, "history_first_page", conversation_id=c)
            if page:
                last = page[-1]
                self.cache(conn, "history_next_page", conversation_id=c,
                           before_created_at=last["created_at"], before_id=last["id"])  # fmt: skip
        members = conn.execute(
            "SELECT DISTINCT user_id FROM conversation_members WHERE conversation_id = ANY(%s) "
            "ORDER BY user_id LIMIT %s",
            (recent, users),
        )
        for (user,) in members.fetchall():
            self.cache(conn, "conversation_list", user_id=user)

    def __enter__(self) -> OtherService:
        """Fill the pages of the recently active conversations and some of their members'
        lists, then invalidate after every message since the fill began."""
        with session(self.params.primary, self.params.safety, purpose="test") as conn:
            since = conn.execute("SELECT coalesce(max(id), 0) FROM messages").fetchone()[0]
            self._fill(conn, conversations=20, users=10)
        self._thread = threading.Thread(target=self._invalidate_sends, args=(since,), daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        self.client.flushdb()

    def _invalidate_sends(self, since: int) -> None:
        seen: set[int] = set()
        with session(self.params.primary, self.params.safety, purpose="test") as conn:
            while not self._stop.wait(0.05):
                for message_id, conversation in conn.execute(NEW_MESSAGES, (since,)).fetchall():
                    if message_id not in seen:
                        seen.add(message_id)
                        if self.invalidates:
                            self._invalidate(conn, conversation)
                since = max(since, max(seen, default=0) - LOOKBACK_IDS)

    def _invalidate(self, conn: psycopg.Connection, conversation: int) -> None:
        pages = self.client.scan_iter(match=CONVERSATION_KEYS.format(conversation_id=conversation))
        members = conn.execute(MEMBERS, (conversation,)).fetchall()
        lists = [key("conversation_list", user_id=user) for (user,) in members]
        self.client.delete(*pages, *lists)
