"""PostgreSQL sessions with guard rails: application_name, timeouts, read-only."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql
from psycopg.abc import Params, QueryNoTemplate
from psycopg.rows import TupleRow

from rollbook.config.endpoints import PgBouncerEndpoint, PostgresEndpoint, Safety


def conninfo(endpoint: PostgresEndpoint, application_name: str) -> dict[str, Any]:
    """libpq keyword arguments for an endpoint; the password is resolved here, in-process."""
    kwargs: dict[str, Any] = {
        "host": endpoint.host,
        "port": endpoint.port,
        "dbname": endpoint.dbname,
        "user": endpoint.user,
        "application_name": application_name,
        "connect_timeout": 5,
    }
    if endpoint.password is not None:
        kwargs["password"] = endpoint.password.resolve()
    for key in ("service", "passfile", "sslmode"):
        value = getattr(endpoint, key)
        if value is not None:
            kwargs[key] = str(value)
    return kwargs


@contextmanager
def session(
    endpoint: PostgresEndpoint,
    safety: Safety | None = None,
    *,
    purpose: str = "",
    read_only: bool = False,
    autocommit: bool = True,
    pooled: bool = False,
) -> Iterator[psycopg.Connection]:
    """Open a guarded connection.

    `purpose` is appended to application_name so DBAs see which step holds a session.
    `read_only` makes every transaction read-only (investigation notebooks).
    `pooled` disables server-side prepared statements (PgBouncer transaction mode).
    """
    safety = safety or Safety()
    app_name = f"{safety.application_name}:{purpose}" if purpose else safety.application_name
    conn = psycopg.connect(**conninfo(endpoint, app_name[:63]), autocommit=autocommit)
    if pooled:
        conn.prepare_threshold = None
    try:
        for name, value in (
            ("statement_timeout", f"{safety.statement_timeout_ms}ms"),
            ("lock_timeout", f"{safety.lock_timeout_ms}ms"),
        ):
            conn.execute(sql.SQL("SELECT set_config({}, {}, false)").format(name, value))
        if read_only:
            conn.execute("SET default_transaction_read_only = on")
        yield conn
    finally:
        conn.close()


@contextmanager
def pgbouncer_console(endpoint: PgBouncerEndpoint) -> Iterator[psycopg.Connection]:
    """The PgBouncer admin console (autocommit, simple query protocol)."""
    kwargs: dict[str, Any] = {
        "host": endpoint.host,
        "port": endpoint.port,
        "dbname": "pgbouncer",
        "user": endpoint.admin_user,
        "connect_timeout": 5,
    }
    if endpoint.admin_password is not None:
        kwargs["password"] = endpoint.admin_password.resolve()
    conn = psycopg.connect(**kwargs, autocommit=True, cursor_factory=psycopg.ClientCursor)
    try:
        yield conn
    finally:
        conn.close()


def one_row(
    conn: psycopg.Connection[TupleRow], query: QueryNoTemplate, params: Params | None = None
) -> TupleRow:
    """The row of a query that always returns one (`SHOW ...`, `SELECT f()`)."""
    row = conn.execute(query, params).fetchone()
    if row is None:
        raise RuntimeError(f"no row from {query!r}")
    return row


def scalar(
    conn: psycopg.Connection[TupleRow], query: QueryNoTemplate, params: Params | None = None
) -> Any:
    """The first column of `one_row(conn, query, params)`."""
    return one_row(conn, query, params)[0]
