"""`FlagStore`: read and change feature flags in the primary, every change audited."""

from __future__ import annotations

from datetime import datetime
from importlib import resources

import pandas as pd
import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from rollbook.flags.catalog import KNOWN_FLAGS, known_flag, validate_flag

# The one query an application polls (every second, see README "Feature-flag contract").
SELECT_FLAGS = "SELECT name, value FROM rollbook.flags"

_SET_FLAG = """
WITH old AS (
    SELECT value FROM rollbook.flags WHERE name = %(name)s
), new AS (
    INSERT INTO rollbook.flags AS f (name, value, updated_at, updated_by)
    VALUES (%(name)s, %(value)s, now(), coalesce(%(by)s, current_user))
    ON CONFLICT (name) DO UPDATE
        SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at,
            updated_by = EXCLUDED.updated_by
    RETURNING f.value, f.updated_by
)
INSERT INTO rollbook.flag_audit (name, old_value, new_value, changed_by, run_id)
SELECT %(name)s, (SELECT value FROM old), new.value, new.updated_by, %(run_id)s FROM new
"""

HISTORY_COLUMNS = ["changed_at", "name", "old_value", "new_value", "changed_by", "run_id"]


def schema_sql() -> str:
    """The flag tables, the audit table and its append-only trigger (idempotent)."""
    return resources.files("rollbook.flags").joinpath("schema.sql").read_text()


class FlagStore:
    """Feature flags in `rollbook.flags` on one (synchronous) psycopg connection."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn

    def ensure_schema(self) -> None:
        """Create the flag and audit tables if missing."""
        with self.conn.transaction():
            self.conn.execute(schema_sql())

    def stored(self) -> dict[str, tuple]:
        """Stored flags: name -> (value, updated_at, updated_by); none before the schema exists."""
        table = self.conn.execute("SELECT to_regclass('rollbook.flags')").fetchone()
        if table is None or table[0] is None:
            return {}
        rows = self.conn.execute(
            "SELECT name, value, updated_at, updated_by FROM rollbook.flags"
        ).fetchall()
        return {name: (value, at, by) for name, value, at, by in rows}

    def get(self, name: str) -> float | None:
        """The value an application uses for a known flag: stored, else its default."""
        flag = known_flag(name)
        stored = self.stored().get(name)
        return stored[0] if stored else flag.default

    def set(
        self, name: str, value: object, run_id: str | None = None, by: str | None = None
    ) -> float:
        """Validate and store a flag, with its audit row, in one transaction; returns the value.

        `by` defaults to the database user."""
        checked = validate_flag(name, value)
        with self.conn.transaction():
            # Writers queue here (readers do not), so the old value is the latest committed one.
            self.conn.execute("LOCK TABLE rollbook.flags IN SHARE ROW EXCLUSIVE MODE")
            self.conn.execute(
                _SET_FLAG, {"name": name, "value": Jsonb(checked), "by": by, "run_id": run_id}
            )
        return checked

    def list(self) -> pd.DataFrame:
        """Every known flag with the value in effect and whether it is set or defaulted."""
        stored = self.stored()
        rows = []
        for name, flag in KNOWN_FLAGS.items():
            value, at, by = stored.get(name, (flag.default, None, None))
            rows.append(
                {
                    "name": name,
                    "value": value,
                    "source": "set" if name in stored else "default",
                    "updated_at": at,
                    "updated_by": by,
                }
            )
        return pd.DataFrame(rows)

    def history(self, since: datetime | None = None) -> pd.DataFrame:
        """Audit rows (oldest first), optionally only those changed at or after `since`."""
        query = sql.SQL(
            "SELECT {} FROM rollbook.flag_audit"
            " WHERE %(since)s::timestamptz IS NULL OR changed_at >= %(since)s ORDER BY id"
        ).format(sql.SQL(", ").join(map(sql.Identifier, HISTORY_COLUMNS)))
        rows = self.conn.execute(query, {"since": since}).fetchall()
        return pd.DataFrame(rows, columns=HISTORY_COLUMNS)
