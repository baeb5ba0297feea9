"""Seeding rate of the lab's loader vs plain single-row INSERTs, measured in the same run.

    .venv/bin/python bench/seed_rate.py [--lab-dir .lab] [--messages 500000] [--baseline-rows 5000]

Both load into a scratch schema of the lab's primary (dropped afterwards); the lab is
started if it is not running.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from psycopg import sql

from rollbook.lab.seed import seed
from rollbook.lab.stack import Lab

SCHEMA = "bench_seed"


def single_row_inserts(conn, rows: int) -> float:
    """Baseline: one autocommitted INSERT per message, as a naive loader would; rows/s."""
    conn.execute("CREATE TABLE baseline_messages (LIKE messages INCLUDING ALL)")
    started = time.perf_counter()
    for i in range(rows):
        conn.execute(
            "INSERT INTO baseline_messages (conversation_id, sender_id, body, created_at) "
            "VALUES (%s, %s, %s, now())",
            (i % 100 + 1, i % 50 + 1, f"message {i}"),
        )
    return rows / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lab-dir", type=Path, default=None)
    parser.add_argument("--messages", type=int, default=500_000)
    parser.add_argument("--baseline-rows", type=int, default=5_000)
    args = parser.parse_args()

    lab = Lab.open(args.lab_dir)
    lab.up(lambda _: None)
    with lab.primary.connect(as_app=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(SCHEMA)))
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(SCHEMA)))
        conn.execute(sql.SQL("SET search_path = {}").format(sql.Identifier(SCHEMA)))
        try:
            report = seed(conn, args.messages, progress=lambda _: None)
            baseline = single_row_inserts(conn, args.baseline_rows)
        finally:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(SCHEMA)))
    print(f"rollbook seed (INSERT ... SELECT, keys after): {report.rows_per_second:>10,.0f} rows/s")
    print(f"baseline (single-row INSERT, autocommit):    {baseline:>10,.0f} rows/s")
    print(f"ratio: {report.rows_per_second / baseline:.1f}x faster than the baseline")


if __name__ == "__main__":
    main()
