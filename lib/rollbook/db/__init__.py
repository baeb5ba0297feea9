"""Guarded PostgreSQL and PgBouncer sessions."""

from rollbook.db.session import conninfo, one_row, pgbouncer_console, scalar, session

__all__ = ["conninfo", "one_row", "pgbouncer_console", "scalar", "session"]
