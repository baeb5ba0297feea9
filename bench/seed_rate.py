"""Seeding rate of the lab's loader vs COPY (the bulk loader a DBA would use), same run.

    .venv/bin/python bench/seed_rate.py [--lab-dir .lab] [--messages 500000]

Both loaders end in the same state: the same rows, then the same keys (constraints.sql)
and statistics. Each is timed twice: the messages load alone, and the whole load (schema,
every table's rows, keys, VACUUM ANALYZE). COPY loads rows exported from the seeded tables
beforehand (a DBA's dump file; exporting is not timed). Both run in scratch schemas of the
lab's primary (dropped afterwards); the lab is started if it is not running.
"""

from __future__ import annotations

import argparse
import time
from contextlib import contextmanager
from pathlib import Path

from psycopg import sql

from rollbook.lab.seed import _sql_file, seed
from rollbook.lab.stack import Lab

SEED_SCHEMA, COPY_SCHEMA = "bench_seed", "bench_copy"
# Parents first: the order a dump restores them in.
TABLES = ("users", "conversations", "conversation_members", "messages")


@contextmanager
def scratch_schema(conn, name: str):
    """A fresh schema first on the search path; dropped afterwards."""
    schema = sql.Identifier(name)
    conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(schema))
    conn.execute(sql.SQL("CREATE SCHEMA {}").format(schema))
    conn.execute(sql.SQL("SET search_path = {}").format(schema))
    try:
        yield
    finally:
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(schema))


def export(conn) -> dict[str, list[bytes]]:
    """Every seeded table's rows in COPY's text format (what a dump file holds)."""
    dump = {}
    for table in TABLES:
        query = sql.SQL("COPY {} TO STDOUT").format(sql.Identifier(table))
        with conn.cursor().copy(query) as copy:
            dump[table] = [bytes(block) for block in copy]
    return dump


def copy_load(conn, dump: dict[str, list[bytes]]) -> tuple[float, float]:
    """Load `dump` with COPY, then the seed's keys and statistics; (seconds to COPY the
    messages, seconds for the whole load)."""
    started = time.perf_counter()
    conn.execute("SET synchronous_commit = off")
    conn.execute("SET maintenance_work_mem = '512MB'")
    conn.execute(_sql_file("schema.sql"))
    seconds = {}
    for table in TABLES:
        table_started = time.perf_counter()
        query = sql.SQL("COPY {} FROM STDIN").format(sql.Identifier(table))
        with conn.cursor().copy(query) as copy:
            for block in dump[table]:
                copy.write(block)
        seconds[table] = time.perf_counter() - table_started
    conn.execute(_sql_file("constraints.sql"))
    tables = sql.SQL(", ").join(map(sql.Identifier, TABLES))
    conn.execute(sql.SQL("VACUUM (ANALYZE) {}").format(tables))
    return seconds["messages"], time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lab-dir", type=Path, default=None)
    parser.add_argument("--messages", type=int, default=500_000)
    args = parser.parse_args()

    lab = Lab.open(args.lab_dir)
    lab.up(lambda _: None)
    with lab.primary.connect(as_app=True) as conn:
        with scratch_schema(conn, SEED_SCHEMA):
            report = seed(conn, args.messages, progress=lambda _: None)
            dump = export(conn)
        with scratch_schema(conn, COPY_SCHEMA):
            copy_seconds, copy_total = copy_load(conn, dump)
    n = report.messages
    print(f"{n:,} messages (+ users, conversations, members); same rows, keys and statistics")
    print(f"{'':34}{'messages load':>22}{'whole load with keys':>27}")
    for name, load, whole in (
        ("rollbook seed (INSERT ... SELECT)", report.load_seconds, report.total_seconds),
        ("COPY FROM STDIN (rows ready)", copy_seconds, copy_total),
    ):
        print(f"{name:34}{n / load:>12,.0f} rows/s {load:5.1f} s"
              f"{n / whole:>17,.0f} rows/s {whole:5.1f} s")  # fmt: skip
    print(f"rollbook seed / COPY rows/s: messages load {copy_seconds / report.load_seconds:.2f}x,"
          f" whole load {copy_total / report.total_seconds:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
