"""Named queries as request types, for any target: a team load-tests its own database with
its own statements. Bind values come from a row of the query's sampling query
(`bind_from`), drawn per request, over its fixed `params`."""

from __future__ import annotations

import random
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from psycopg.rows import dict_row

from rollbook.errors import InputError
from rollbook.load.clients import Client
from rollbook.load.sources import Perform
from rollbook.load.target import Target

NAMED_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


class BindError(InputError, ValueError):
    """A named query's sampled rows cannot fill its placeholders."""


@dataclass(frozen=True)
class Query:
    """psycopg SQL with `%(name)s` (or `%s`) placeholders; `params` fixed values."""

    sql: str
    params: Mapping[str, Any] = field(default_factory=dict)
    bind_from: str | None = None


def binder(name: str, query: Query, columns: list[str]):
    """How a sampled row (a dict) becomes the query's parameters, over `params` (the
    values EXPLAIN uses): columns named after placeholders bind to them; a one-column
    sample binds to the query's only placeholder, or else to the only one `params` leaves
    open; with `%s` placeholders the row's values bind in order."""
    placeholders = set(NAMED_PLACEHOLDER.findall(query.sql))
    if not placeholders:
        return lambda row: tuple(row.values())
    open_ = placeholders - set(query.params)
    named = placeholders & set(columns)
    if named and open_ <= named:
        return lambda row: {**query.params, **{c: row[c] for c in named}}
    if len(columns) == 1 and (len(placeholders) == 1 or len(open_) == 1):
        (column,) = columns
        (placeholder,) = placeholders if len(placeholders) == 1 else open_
        return lambda row: {**query.params, placeholder: row[column]}
    raise BindError(
        f"query {name}: bind_from gives columns {', '.join(columns)} for the placeholders "
        f"{', '.join(sorted(placeholders))} ({', '.join(sorted(open_)) or 'none'} open): "
        "name the columns after the placeholders"
    )


@dataclass(frozen=True)
class NamedQueries:
    """Request types named after their queries."""

    queries: Mapping[str, Query]

    @classmethod
    def from_params(cls, queries: Mapping[str, Any], names: list[str] | None = None):
        """From the params' `queries:` section (each with sql, params, bind_from)."""
        chosen = list(queries) if names is None else names
        return cls({n: Query(queries[n].sql, queries[n].params, queries[n].bind_from)
                    for n in chosen})  # fmt: skip

    def names(self) -> tuple[str, ...]:
        return tuple(self.queries)

    @asynccontextmanager
    async def open(self, target: Target, rng: random.Random) -> AsyncIterator[Perform]:
        samples = {}
        conn = await target.connect()
        try:
            for name, query in self.queries.items():
                if query.bind_from is None:
                    continue
                cursor = conn.cursor(row_factory=dict_row)
                rows = await (await cursor.execute(query.bind_from)).fetchall()
                if not rows:
                    raise BindError(f"query {name}: bind_from returned no rows")
                samples[name] = (rows, binder(name, query, list(rows[0])))
        finally:
            await conn.close()

        async def perform(name: str, client: Client) -> None:
            query = self.queries[name]
            if name in samples:
                rows, bind = samples[name]
                params = bind(rng.choice(rows))
            else:
                params = dict(query.params)
            cursor = await client.conn.execute(query.sql, params)
            if cursor.description is not None:
                await cursor.fetchall()

        yield perform
