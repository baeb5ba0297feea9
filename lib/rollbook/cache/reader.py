"""The service's cache read as the params' `cache:` section describes it: which entries are
cached (found by their key templates), the rows each holds (decoded by the serializer, or
returned by the params' reader function), and the marker of Phase 3's invalidation probe."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import redis

from rollbook.cache.contract import CHECKER_PREFIX, PROBE_FIELD, CachedRows, Template, decode
from rollbook.cache.params import CacheParams, import_function

PROBE_TTL_SECONDS = 120  # a probe that created its hash lets it expire on its own

RowsFunction = Callable[[redis.Redis, str, dict[str, Any]], CachedRows | None]


@dataclass(frozen=True)
class Entry:
    """One cached value: the named query and bind values whose rows it holds, and where."""

    query: str
    args: Mapping[str, Any]
    key: str
    field: str | None = None


def _typed(text: str, example: Any) -> Any:
    """A parameter spelled in a key, as the type of the named query's example value."""
    if isinstance(example, int | float) and not isinstance(example, bool):
        return type(example)(text)
    return text


class CacheReader:
    """Entries and rows of the service's cache. `queries` are the params' named queries'
    example values (name -> {parameter: value}); the params' entries must spell them."""

    def __init__(
        self, section: CacheParams, client: redis.Redis, queries: Mapping[str, Mapping[str, Any]]
    ) -> None:
        section.check_queries({name: set(values) for name, values in queries.items()})
        self.section = section
        self.client = client
        self.examples = queries
        self.templates = {name: e.templates() for name, e in section.entries.items()}
        self.function: RowsFunction | None = (
            import_function(section.reader) if section.reader else None
        )

    # -- entries --------------------------------------------------------------------------

    def _args(self, query: str, texts: Mapping[str, str]) -> dict[str, Any] | None:
        try:
            return {n: _typed(t, self.examples[query][n]) for n, t in texts.items()}
        except ValueError:  # e.g. a key whose id is not a number: not this entry's
            return None

    def _entry(self, query: str, key: str, field: str | None) -> Entry | None:
        key_template, field_template = self.templates[query]
        texts = key_template.parse(key)
        if field_template is not None and field is not None and texts is not None:
            field_texts = field_template.parse(field)
            texts = None if field_texts is None else {**texts, **field_texts}
        args = None if texts is None else self._args(query, texts)
        return None if args is None else Entry(query, args, key, field)

    def _at(self, key: str, queries: list[str]) -> Iterator[Entry]:
        """The entries cached at `key` (hash fields a checker added are not the service's)."""
        if self.templates[queries[0]][1] is None:
            fields: list[str | None] = [None]
        else:
            names = (f.decode() if isinstance(f, bytes) else f for f in self.client.hkeys(key))
            fields = [f for f in names if not f.startswith(CHECKER_PREFIX)]
        for field in fields:
            found = (self._entry(query, key, field) for query in queries)
            entry = next((e for e in found if e is not None), None)
            if entry is not None:
                yield entry

    def entries(self, limit: int, rng: random.Random | None = None) -> list[Entry]:
        """Up to `limit` of the cached entries, sampled at random."""
        by_key: dict[str, list[str]] = {}
        for query, (key, _) in self.templates.items():
            by_key.setdefault(key.text, []).append(query)
        found = [
            entry
            for key_text, queries in by_key.items()
            for raw in self.client.scan_iter(match=Template(key_text).glob(), count=1000)
            for entry in self._at(raw.decode(), queries)
        ]
        return (rng or random.Random()).sample(found, min(limit, len(found)))

    # -- rows -----------------------------------------------------------------------------

    def rows(self, entry: Entry) -> CachedRows | None:
        """The rows cached for `entry`: arrays in the query's column order or objects by
        column name; None when it is not cached (any more)."""
        if self.function is not None:
            return self.function(self.client, entry.query, dict(entry.args))
        if entry.field is None:
            raw = self.client.get(entry.key)
        else:
            raw = self.client.hget(entry.key, entry.field)
        where = f"{entry.key} {entry.field or ''}".strip()
        return None if raw is None else decode(self.section.serializer, raw, where)

    def marker(self) -> SendMarker:
        """What Phase 3's probe watches in a conversation's `probe_query` entry."""
        key, field = self.templates[self.section.probe_query]
        return SendMarker(self.client, key, in_hash=field is not None)


class SendMarker:
    """A mark on one conversation's cached entry that the service's invalidation after a send
    removes. In a hash: the field `rollbook:probe`, which the service never reads (a hash not
    cached is created, with a TTL). In a key that holds the value: the value itself, watched
    once the service has cached it; another value there is a deletion followed by a refill."""

    def __init__(self, client: redis.Redis, key: Template, *, in_hash: bool) -> None:
        self.client = client
        self.template = key
        self.in_hash = in_hash
        self.armed: dict[int, bytes] = {}

    def key(self, conversation: int) -> str:
        return self.template.format(conversation_id=conversation)

    def arm(self, conversation: int) -> int | None:
        """Mark the entry; its TTL in ms (negative: none), or None when nothing is cached."""
        key = self.key(conversation)
        with self.client.pipeline(transaction=False) as pipe:
            if self.in_hash:
                pipe.hset(key, PROBE_FIELD, "1")
            else:
                pipe.get(key)
            pipe.pttl(key)
            marked, ttl_ms = pipe.execute()
        if self.in_hash and ttl_ms < 0:  # the probe created the key: let it expire on its own
            self.client.expire(key, PROBE_TTL_SECONDS)
            return PROBE_TTL_SECONDS * 1000
        if not self.in_hash:
            if marked is None:
                return None
            self.armed[conversation] = marked
        return int(ttl_ms)

    def poll(self, conversations: list[int]) -> list[tuple[bool, int]]:
        """Per conversation: whether its mark is still there, and the entry's TTL in ms."""
        with self.client.pipeline(transaction=False) as pipe:
            for c in conversations:
                if self.in_hash:
                    pipe.hexists(self.key(c), PROBE_FIELD)
                else:
                    pipe.get(self.key(c))
                pipe.pttl(self.key(c))
            answers = pipe.execute()
        marks, ttls = answers[::2], answers[1::2]
        if not self.in_hash:
            armed = [self.armed.get(c) for c in conversations]
            marks = [m is not None and m == a for m, a in zip(marks, armed, strict=True)]
        return [(bool(m), ttl) for m, ttl in zip(marks, ttls, strict=True)]

    def disarm(self, conversation: int) -> None:
        """Take the mark off (the service's entry is left as it is)."""
        if self.in_hash:
            self.client.hdel(self.key(conversation), PROBE_FIELD)
        self.armed.pop(conversation, None)
