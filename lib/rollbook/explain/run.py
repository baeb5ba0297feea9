"""Run EXPLAIN safely on a psycopg connection and return the parsed plan.

- `analyze=True`: `EXPLAIN (ANALYZE, BUFFERS, SETTINGS, WAL, FORMAT JSON)`. The statement
  really executes, so it always runs inside a transaction (or savepoint) that is rolled
  back: an INSERT / UPDATE / DELETE leaves no trace.
- `analyze=False`: `EXPLAIN (SETTINGS, FORMAT JSON)` only plans the query — safe on production.

Bind parameters are interpolated client-side (`psycopg.ClientCursor`), so the plan is the
one psql would show for the literal query, and it works through PgBouncer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import psycopg
from psycopg import sql

from rollbook.errors import InputError
from rollbook.explain.params import NamedQuery
from rollbook.explain.parse import Plan, parse_plan


class UnknownQuery(InputError, KeyError):
    """A query name that the params file does not define."""

    def __str__(self) -> str:
        return str(self.args[0])


def explain_options(analyze: bool, server_version: int) -> sql.Composable:
    """The EXPLAIN option list for this server (WAL exists from PostgreSQL 13)."""
    options = ["SETTINGS", "FORMAT JSON"]
    if analyze:
        options = ["ANALYZE", "BUFFERS", *(["WAL"] if server_version >= 130000 else []), *options]
    return sql.SQL(", ").join(sql.SQL(o) for o in options)


def explain_json(
    conn: psycopg.Connection,
    query: str,
    params: Mapping[str, Any] | None = None,
    *,
    analyze: bool = True,
    settings: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """EXPLAIN `query` and return PostgreSQL's JSON document (a one-element list).

    `settings` (e.g. `{"work_mem": "64kB"}`) apply to this EXPLAIN only (`set_config(..., true)`
    inside the rolled-back transaction).
    """
    statement = sql.SQL("EXPLAIN ({}) ").format(
        explain_options(analyze, conn.info.server_version)
    ) + sql.SQL(query)
    with conn.transaction(force_rollback=True), psycopg.ClientCursor(conn) as cur:
        for name, value in (settings or {}).items():
            cur.execute("SELECT set_config(%s, %s, true)", (name, str(value)))
        cur.execute(statement, dict(params) if params else None)
        row = cur.fetchone()
    assert row is not None
    document = row[0]
    return document if isinstance(document, list) else [document]


def explain(
    conn: psycopg.Connection,
    query: str,
    params: Mapping[str, Any] | None = None,
    *,
    analyze: bool = True,
    settings: Mapping[str, str] | None = None,
    name: str = "",
) -> Plan:
    """EXPLAIN `query` and parse the result into a `Plan`."""
    document = explain_json(conn, query, params, analyze=analyze, settings=settings)
    return parse_plan(document, name=name)


def named_query(queries: Mapping[str, NamedQuery], name: str) -> NamedQuery:
    """The query `name` from the params' `queries:` section, or UnknownQuery listing the
    known names."""
    if name not in queries:
        known = ", ".join(sorted(queries)) or "none defined"
        raise UnknownQuery(f"no query named {name!r} in params.queries (known: {known})")
    return queries[name]


def run_named_query(
    conn: psycopg.Connection,
    queries: Mapping[str, NamedQuery],
    name: str,
    *,
    analyze: bool = True,
    settings: Mapping[str, str] | None = None,
) -> Plan:
    """EXPLAIN the query `name` of the params' `queries:` section with its bind parameters."""
    named = named_query(queries, name)
    return explain(conn, named.sql, named.params, analyze=analyze, settings=settings, name=name)
