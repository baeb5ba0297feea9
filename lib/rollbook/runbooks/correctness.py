"""Correctness probes after the rollout: keyset pagination, cached pages, replica freshness.

- `pagination`: walk one conversation page by page with the params' named queries and
  compare with one full ordered scan of the same snapshot (gaps, duplicates, order).
- `cache_entries`: sample the service's cached entries in Redis (found and read as the
  params' `cache:` section says, by default the reference layout) and compare each with
  what its named query returns now.
- `replica_staleness`: write a probe row on the primary and time until the replica shows it.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import psycopg

from rollbook.cache.client import redis_client
from rollbook.cache.contract import same_rows
from rollbook.cache.reader import CacheReader, Entry
from rollbook.db import session
from rollbook.explain.run import named_query
from rollbook.params import Params
from rollbook.postgres.staleness import probe_seconds
from rollbook.step import StepResult
from rollbook.verdict import Check, compare, expect

# The next-page query's cursor parameters (see params `queries.history_next_page`).
CURSOR_CREATED_AT = "before_created_at"
CURSOR_ID = "before_id"
REFERENCE_SCAN = """
SELECT id FROM messages WHERE conversation_id = %(conversation_id)s
ORDER BY created_at DESC, id DESC LIMIT %(limit)s
"""


def _columns(cur: psycopg.Cursor) -> list[str]:
    return [c.name for c in cur.description or ()]


@dataclass
class Walk:
    """Ids in the order the pages returned them, and the reference order."""

    conversation_id: int
    walked: list[int]
    expected: list[int]
    pages: int

    def findings(self) -> dict[str, Any]:
        duplicates = sorted(i for i, times in Counter(self.walked).items() if times > 1)
        missing = sorted(set(self.expected) - set(self.walked))
        extra = sorted(set(self.walked) - set(self.expected))
        return {
            "rows walked": len(self.walked),
            "rows expected": len(self.expected),
            "pages": self.pages,
            "duplicates": len(duplicates),
            "missing": len(missing),
            "not in the scan": len(extra),
            "first position out of order": _first_difference(self.walked, self.expected),
            "examples": f"dup {duplicates[:5]} missing {missing[:5]} extra {extra[:5]}",
        }


def _first_difference(walked: list[int], expected: list[int]) -> int | None:
    for position, (got, wanted) in enumerate(zip(walked, expected, strict=False)):
        if got != wanted:
            return position
    return None if len(walked) == len(expected) else min(len(walked), len(expected))


def walk_pages(conn: psycopg.Connection, params: Params, max_rows: int) -> Walk:
    """Page through the conversation of the first-page query (one REPEATABLE READ snapshot)."""
    v = params.validation
    first, following = (
        named_query(params.queries, v.pagination_query_first),
        named_query(params.queries, v.pagination_query_next),
    )
    conversation = first.params["conversation_id"]
    walked: list[int] = []
    pages = 0
    with conn.transaction(), psycopg.ClientCursor(conn) as cur:
        cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cur.execute(first.sql, first.params)
        while True:
            rows = [dict(zip(_columns(cur), row, strict=True)) for row in cur.fetchall()]
            pages += 1
            walked += [r["id"] for r in rows]
            if not rows or len(walked) >= max_rows:
                break
            cursor = {CURSOR_CREATED_AT: rows[-1]["created_at"], CURSOR_ID: rows[-1]["id"]}
            cur.execute(
                following.sql, {**following.params, "conversation_id": conversation, **cursor}
            )
        cur.execute(REFERENCE_SCAN, {"conversation_id": conversation, "limit": max_rows})
        expected = [row[0] for row in cur.fetchall()]
    return Walk(conversation, walked[:max_rows], expected, pages)


def pagination(params: Params) -> StepResult:
    """Keyset pages through a large conversation equal a full ordered scan."""
    with session(params.primary, params.safety, purpose="validation:pagination") as conn:
        walk = walk_pages(conn, params, params.validation.pagination_max_rows)
    found = walk.findings()
    table = pd.DataFrame({"value": list(found.values())}, index=list(found))
    wrong = found["duplicates"] + found["missing"] + found["not in the scan"]
    in_order = walk.walked == walk.expected
    return StepResult(
        table,
        [
            compare(
                "pagination: rows missing or repeated",
                wrong,
                "==",
                0,
                unit="rows",
                detail=f"conversation {walk.conversation_id}: {found['examples']}",
            ),
            expect(
                "pagination: same order as a full ordered scan",
                in_order and len(walk.walked) > 0,
                detail=f"{len(walk.walked)} rows in {walk.pages} pages; first position out "
                f"of order: {found['first position out of order']}",
            ),
        ],
    )


# -- cache --------------------------------------------------------------------------------


def cache_reader(params: Params) -> CacheReader:
    """The service's cache as the params' `cache:` section lays it out."""
    examples = {name: query.params for name, query in params.queries.items()}
    return CacheReader(params.cache, redis_client(params.redis), examples)


def _database(conn: psycopg.Connection, params: Params, entry: Entry) -> tuple[list, list[str]]:
    """The rows the entry's named query returns now, and their column names."""
    cur = conn.execute(named_query(params.queries, entry.query).sql, dict(entry.args))
    return cur.fetchall(), _columns(cur)


@dataclass
class CacheComparison:
    """What a sample found. Only compared entries count: one gone before it was read, or
    changed while a difference was being confirmed, was sampled but not compared."""

    sampled: int = 0
    compared: int = 0
    vanished: int = 0
    changed_meanwhile: int = 0
    mismatched: list[dict] = field(default_factory=list)

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(
            self.mismatched, columns=["key", "field", "cached rows", "database rows"]
        )

    def check(self, name: str, *, required: bool = True) -> Check:
        """Mismatches among the compared entries; none compared is no data."""
        return compare(
            name,
            len(self.mismatched) if self.compared else None,
            "==",
            0,
            unit="entries",
            required=required,
            detail=f"{self.compared} compared of {self.sampled} sampled ({self.vanished} "
            f"vanished before read, {self.changed_meanwhile} changed while checked)"
            + "".join(f"; {m['key']} {m['field'] or ''}" for m in self.mismatched[:5]),
        )


def compare_entries(
    reader: CacheReader,
    conn: psycopg.Connection,
    params: Params,
    entries: list[Entry],
    settle_seconds: float = 1.0,
) -> CacheComparison:
    """Compare each entry with the database; a difference is confirmed after `settle_seconds`
    (the service invalidates right after its commit) on an unchanged cached value."""
    result = CacheComparison(sampled=len(entries))
    suspects = []
    for entry in entries:
        cached = reader.rows(entry)
        if cached is None:
            result.vanished += 1
        elif not same_rows(cached, *_database(conn, params, entry)):
            suspects.append((entry, cached))
        else:
            result.compared += 1
    if suspects:
        time.sleep(settle_seconds)
    for entry, cached in suspects:
        if reader.rows(entry) != cached:
            result.changed_meanwhile += 1
            continue
        result.compared += 1
        database, columns = _database(conn, params, entry)
        if not same_rows(cached, database, columns):
            result.mismatched.append(
                {
                    "key": entry.key,
                    "field": entry.field,
                    "cached rows": len(cached),
                    "database rows": len(database),
                }
            )
    return result


def sample_and_compare(params: Params, sample_size: int) -> CacheComparison:
    """Up to `sample_size` of the service's cache entries, compared with the primary."""
    reader = cache_reader(params)
    entries = reader.entries(sample_size)
    with session(params.primary, params.safety, purpose="cache check", read_only=True) as conn:
        return compare_entries(reader, conn, params, entries)


def cache_entries(params: Params, sample_size: int | None = None) -> StepResult:
    """Sampled cache entries equal the database (no data when none could be compared)."""
    found = sample_and_compare(params, sample_size or params.validation.cache_sample_size)
    return StepResult(
        found.table(), [found.check("cache: sampled entries that differ from the database")]
    )


# -- replica ------------------------------------------------------------------------------


def replica_staleness(params: Params, threshold_seconds: float | None = None) -> StepResult:
    """Write a probe row on the primary and poll the replica until it shows it (or
    threshold x2). The one write of the validation: a probe row, deleted afterwards."""
    threshold = threshold_seconds or params.validation.max_replica_staleness_seconds
    if params.replica is None:
        check = compare(
            "replica staleness",
            None,
            "<=",
            threshold,
            unit="s",
            required=False,
            detail="no `replica` in params",
        )
        return StepResult(pd.DataFrame(), [check])
    timeout = 2 * threshold
    (seen,) = probe_seconds(params, "validation:marker", timeout_seconds=timeout)
    observed = seen if seen is not None else timeout
    detail = "seen" if seen is not None else f"not visible after {timeout:g} s"
    table = pd.DataFrame({"probe": ["rollbook.replica_probe"], "visible after (s)": [seen]})
    check = compare(
        "replica staleness: marker visible on the replica after",
        observed,
        "<=",
        threshold,
        unit="s",
        detail=detail,
    )
    return StepResult(table, [check])
