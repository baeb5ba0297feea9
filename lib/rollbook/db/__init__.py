"""Guarded PostgreSQL and PgBouncer sessions."""

from rollbook.db.session import conninfo, pgbouncer_console, session

__all__ = ["conninfo", "pgbouncer_console", "session"]
