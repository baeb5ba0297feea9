"""A rollout migration file: its statements, and the indexes it builds."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from rollbook import resources

KEYSET_MIGRATION = resources.folder("migrations") / "02-keyset-pagination-indexes.sql"

_INDEX = re.compile(
    r"CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+(?:IF\s+NOT\s+EXISTS\s+)?"
    r"(?P<name>\w+)\s+ON\s+(?:ONLY\s+)?(?P<table>[\w.]+)\s*(?:USING\s+\w+\s*)?"
    r"\((?P<columns>[^)]*)\)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class IndexBuild:
    """One `CREATE INDEX CONCURRENTLY` statement of a migration."""

    name: str
    table: str
    columns: tuple[str, ...]
    sql: str


def statements(path: Path) -> list[str]:
    """The SQL statements of a migration file, comments removed, in order."""
    text = "\n".join(line.split("--", 1)[0] for line in path.read_text().splitlines())
    return [s.strip() for s in text.split(";") if s.strip()]


def index_builds(path: Path = KEYSET_MIGRATION) -> list[IndexBuild]:
    """Every concurrent index build in a migration (other statements are refused)."""
    builds = []
    for stmt in statements(path):
        match = _INDEX.search(stmt)
        if not match:
            raise ValueError(f"{path.name}: not a CREATE INDEX CONCURRENTLY statement: {stmt!r}")
        columns = tuple(c.split()[0] for c in match["columns"].split(",") if c.strip())
        builds.append(IndexBuild(match["name"], match["table"], columns, stmt))
    return builds
