"""The load generator's rate accuracy and capacity through PgBouncer, vs pgbench, same run.

    .venv/bin/python bench/loadgen.py [--lab-dir .lab] [--rate 2000] [--clients 200]

1. Rate accuracy: a fixed offered rate of the history first page (a conversation drawn per
   request) through PgBouncer: achieved vs offered, the generator's schedule lag p99, the
   share of requests started late, latency percentiles.
2. Capacity: the generator's highest clean rate on that statement with `--clients` virtual
   clients (a rate ladder; clean: conclusive, errors < 1 %, achieved >= 98 % of offered,
   p95 <= --max-p95-ms) vs pgbench's rate with the same statement, clients and PgBouncer
   (closed loop, as fast as it goes), and the ratio.

The lab is started if it is not running, and gets Phase 1's keyset index (the bench
measures the generator, not a sequential scan). Its PgBouncer admits `max_client_conn`
clients (500 unless the lab was set up with more): keep `--clients` below that.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import tempfile
from pathlib import Path

from rollbook.lab.stack import Lab
from rollbook.load.query import NamedQueries, Query
from rollbook.load.result import RequestStats
from rollbook.load.run import run_load
from rollbook.load.schedule import Step
from rollbook.load.spec import LoadSpec
from rollbook.load.target import PostgresTarget
from rollbook.params import load_params

REPO = Path(__file__).resolve().parents[1]
PGBENCH = "/usr/lib/postgresql/15/bin/pgbench"
KEYSET_INDEX = """CREATE INDEX CONCURRENTLY IF NOT EXISTS messages_conversation_keyset_idx
    ON messages (conversation_id, created_at DESC, id DESC)"""
HISTORY = """SELECT id, sender_id, body, created_at FROM messages
WHERE conversation_id = %(conversation_id)s ORDER BY created_at DESC, id DESC LIMIT 50"""
# pgbench draws uniformly from the id range; the generator samples every conversation
PGBENCH_SCRIPT = """\\set conversation_id random({low}, {high})
SELECT id, sender_id, body, created_at FROM messages
WHERE conversation_id = :conversation_id ORDER BY created_at DESC, id DESC LIMIT 50;
"""
ALL_CONVERSATIONS = "SELECT id AS conversation_id FROM conversations"


def ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.2f} ms"


def spec(params, clients: int, workers: int | None, steps: tuple[Step, ...]) -> LoadSpec:
    return LoadSpec(
        PostgresTarget.through_pgbouncer(params.primary, params.pgbouncer),
        (NamedQueries({"history": Query(HISTORY, bind_from=ALL_CONVERSATIONS)}),),
        steps,
        clients=clients,
        workers=workers,
        poisson=False,
    )


def describe(stats: RequestStats) -> str:
    return (
        f"offered {stats.offered_rate:,.0f}/s achieved {stats.achieved_rate:,.0f}/s "
        f"({stats.achieved_rate / stats.offered_rate:.1%}); lag p99 {ms(stats.lag(99))}, "
        f"started late {stats.late_share:.2%} (generator {stats.late_dispatch_share:.2%}); "
        f"latency p50 {ms(stats.latency(50))} p95 {ms(stats.latency(95))} "
        f"p99 {ms(stats.latency(99))} p99.9 {ms(stats.latency(99.9))}; "
        f"errors {stats.tally.failed}"
    )


def clean(stats: RequestStats, inconclusive: list[str], max_p95: float) -> bool:
    p95 = stats.latency(95)
    return (
        not inconclusive
        and (stats.error_ratio or 0) < 0.01
        and stats.achieved_rate >= 0.98 * stats.offered_rate
        and p95 is not None
        and p95 <= max_p95
    )


def pgbench_rate(params, clients: int, seconds: int, low: int, high: int) -> float:
    """pgbench's transactions/s with the history statement through PgBouncer."""
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as script:
        script.write(PGBENCH_SCRIPT.format(low=low, high=high))
        script.flush()
        done = subprocess.run(
            [PGBENCH, "-n", "-M", "simple", "-c", str(clients), "-j", "2", "-T", str(seconds),
             "-f", script.name, "-h", params.pgbouncer.host, "-p", str(params.pgbouncer.port),
             "-U", params.primary.user, params.pgbouncer.dbname],
            env={**os.environ, "PGPASSWORD": params.primary.password.resolve()},
            capture_output=True, text=True, check=True,
        )  # fmt: skip
    return float(re.search(r"tps = ([\d.]+)", done.stdout).group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lab-dir", type=Path, default=None)
    parser.add_argument("--rate", type=float, default=2000, help="offered rate for accuracy")
    parser.add_argument("--seconds", type=float, default=10, help="accuracy run (judged)")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--workers", type=int, default=None, help="default: one per core")
    parser.add_argument("--ladder", default="250,500,1000,1500,2000,3000,4000,6000")
    parser.add_argument("--step-seconds", type=float, default=4)
    parser.add_argument("--max-p95-ms", type=float, default=50)
    parser.add_argument("--pgbench-seconds", type=int, default=10)
    args = parser.parse_args()

    lab = Lab.open(args.lab_dir)
    lab.up(lambda _: None)
    params = load_params(REPO / "params" / "lab.yaml", {"lab.dir": str(lab.layout.dir)})
    with lab.primary.connect(as_app=True) as conn:
        conn.autocommit = True
        conn.execute(KEYSET_INDEX)
        low, high, count = conn.execute(
            "SELECT min(id), max(id), count(*) FROM conversations"
        ).fetchone()
    print(f"lab {lab.layout.dir}: {count:,} conversations (ids {low}..{high}), PgBouncer "
          f"max_client_conn {lab.layout.max_client_conn}, {os.cpu_count()} cores")  # fmt: skip

    fixed_rate = (Step({"history": args.rate}, args.seconds + 2, warmup=2),)
    accuracy = run_load(spec(params, args.clients, args.workers, fixed_rate))
    (step,) = accuracy.steps
    print(f"rate accuracy ({args.clients} clients, {len(accuracy.workers)} workers, fixed "
          f"schedule, {args.seconds:g} s judged): {describe(step.total)}")  # fmt: skip
    for why in accuracy.inconclusive:
        print(f"  inconclusive: {why}")
    print("  workers busy: " + ", ".join(f"{w.busy_share:.0%}" for w in accuracy.workers))

    rates = [float(r) for r in args.ladder.split(",")]
    ladder = tuple(Step({"history": r}, args.step_seconds, warmup=1) for r in rates)
    capacity = run_load(spec(params, args.clients, args.workers, ladder))
    best = delivered = 0.0
    print(f"capacity ladder ({args.clients} clients; clean: conclusive, errors < 1 %, achieved "
          f">= 98 %, p95 <= {args.max_p95_ms:g} ms), run {capacity.end.value}:")  # fmt: skip
    for ladder_step in capacity.steps:
        stats = ladder_step.total
        ok = clean(stats, ladder_step.inconclusive, args.max_p95_ms / 1000)
        best = max(best, stats.achieved_rate) if ok else best
        if (stats.error_ratio or 0) < 0.01 and stats.achieved_rate >= 0.98 * stats.offered_rate:
            delivered = max(delivered, stats.achieved_rate)
        print(f"  {ladder_step.step.rates['history']:>7,.0f}/s {'clean' if ok else 'NOT clean'}:"
              f" {describe(stats)}")  # fmt: skip
    tps = pgbench_rate(params, args.clients, args.pgbench_seconds, low, high)
    print(f"capacity: generator {best:,.0f} req/s clean vs pgbench {tps:,.0f} tps "
          f"({args.clients} clients, -j 2, through PgBouncer): ratio {best / tps:.2f}")  # fmt: skip
    print(f"  delivered (errors < 1 %, achieved >= 98 %, schedule not held): {delivered:,.0f} "
          f"req/s, ratio {delivered / tps:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
