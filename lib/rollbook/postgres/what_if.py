"""What-if plans with hypopg: EXPLAIN a query as if some indexes existed, building nothing.

`hypopg_create_index` keeps a hypothetical index in the memory of the calling backend only,
so the hypothetical indexes and the plain EXPLAIN (no ANALYZE: the index does not exist)
run on the same connection, and `hypopg_reset()` clears them afterwards. It works in a
read-only session and on a hot standby. Hypothetical indexes are named `<oid>btree_...`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import psycopg

from rollbook.db import scalar
from rollbook.errors import RollbookError
from rollbook.explain.parse import Plan
from rollbook.explain.run import explain


class HypopgMissing(RollbookError, RuntimeError):
    """The target database has no hypopg extension."""


def hypopg_installed(conn: psycopg.Connection) -> bool:
    return bool(conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'hypopg'").fetchone())


def what_if(
    conn: psycopg.Connection,
    create_index: list[str],
    query: str,
    params: Mapping[str, Any] | None = None,
    *,
    name: str = "",
) -> tuple[Plan, list[str]]:
    """The plan of `query` with the hypothetical indexes, and the names hypopg gave them."""
    if not hypopg_installed(conn):
        raise HypopgMissing(
            "hypopg is not installed in this database (CREATE EXTENSION hypopg): "
            "what-if plans need it (or turn the what-if step off)"
        )
    try:
        names = [
            scalar(conn, "SELECT indexname FROM hypopg_create_index(%s)", [stmt])
            for stmt in create_index
        ]
        return explain(conn, query, params, analyze=False, name=name), names
    finally:
        conn.execute("SELECT hypopg_reset()")
