"""The load generator against the test lab, through PgBouncer: a short run at a fixed
rate achieves what it offered, PgBouncer sees one client connection per virtual client
while it runs and none after, and SIGTERM stops a run within 2 s."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from _wait import eventually

from rollbook.db import pgbouncer_console
from rollbook.load.chat import ChatEndpoints
from rollbook.load.query import NamedQueries
from rollbook.load.result import RunEnd
from rollbook.load.run import run_load
from rollbook.load.schedule import Step
from rollbook.load.spec import GeneratorLimits, LoadSpec
from rollbook.load.target import PostgresTarget

APPLICATION = "rollbook-load-test"
REPO = Path(__file__).resolve().parents[2]


def load_clients(lab_params) -> int:
    """PgBouncer's client connections of this test's virtual clients (SHOW CLIENTS)."""
    with pgbouncer_console(lab_params.pgbouncer) as conn:
        cursor = conn.execute("SHOW CLIENTS")
        column = [d.name for d in cursor.description].index("application_name")
        return sum(1 for row in cursor if row[column] == APPLICATION)


def target(lab_params) -> PostgresTarget:
    return PostgresTarget.through_pgbouncer(
        lab_params.primary, lab_params.pgbouncer, application_name=APPLICATION
    )


def test_a_fixed_rate_run_through_pgbouncer_with_its_own_client_connections(lab, lab_params):
    spec = LoadSpec(
        target(lab_params),
        (
            NamedQueries.from_params(lab_params.queries, ["history_first_page"]),
            # the workload's history endpoint, every request routed through PgBouncer
            ChatEndpoints(lab.layout.dir, ("history",), flags={"pgbouncer.history": 100}),
        ),
        (Step({"history_first_page": 20, "history": 10}, duration=4.0, warmup=1.0),),
        clients=24,
        workers=2,
        poisson=False,
        # The lab, its workload and the generator share 2 cores: the OS alone delays a
        # process by 5-10 ms at times (measured: 15 % of dispatches > 5 ms late at 3 % CPU
        # per worker, load average 5). A generator starved for 50 ms is starved.
        generator=GeneratorLimits(late_after=0.05, max_late_share=0.05),
    )
    seen = {}  # report interval's end (s) -> client connections when it came in

    def count_clients(row) -> None:
        seen[row.at_seconds] = load_clients(lab_params)

    result = run_load(spec, progress=count_clients)
    assert result.end is RunEnd.COMPLETED, result.reason
    (step,) = result.steps
    for name, rate in (("history_first_page", 20), ("history", 10)):
        stats = step.requests[name]
        assert stats.tally.scheduled == rate * 3  # fixed schedule, 3 judged seconds
        assert stats.tally.failed == 0, stats.tally.errors
        assert stats.achieved_rate >= 0.98 * stats.offered_rate
        assert stats.latency(99) is not None and stats.latency(99.9) >= stats.latency(50)
    assert not result.inconclusive, result.inconclusive  # 30 req/s leave the workers idle
    # every interval that ended while the schedule ran (later ones come in as the workers
    # drain and close their clients)
    during = [count for at, count in seen.items() if at < spec.duration]
    assert len(during) >= 6 and set(during) == {24}, seen
    eventually(lambda: load_clients(lab_params) == 0, 5, "no client connection left")


SIGTERM_RUN = """
import json
from rollbook.params import load_params
from rollbook.load.query import NamedQueries
from rollbook.load.run import run_load
from rollbook.load.schedule import Step
from rollbook.load.spec import GeneratorLimits, LoadSpec
from rollbook.load.target import PostgresTarget

params = load_params({params!r}, {{"lab.dir": {lab_dir!r}}})
spec = LoadSpec(
    PostgresTarget.through_pgbouncer(
        params.primary, params.pgbouncer, application_name={application!r}
    ),
    (NamedQueries.from_params(params.queries, ["history_first_page"]),),
    (Step({{"history_first_page": 20}}, duration=60.0),),
    clients=10,
    workers=2,
)
result = run_load(spec, progress=lambda row: print("progress", flush=True))
print(json.dumps({{"end": result.end.value, "stop_seconds": result.stop_seconds,
                  "ok": result.steps[0].total.tally.ok}}))
"""


def test_sigterm_stops_a_run_within_two_seconds_and_closes_every_connection(lab, lab_params):
    script = SIGTERM_RUN.format(
        params=str(REPO / "params" / "lab.yaml"),
        lab_dir=str(lab.layout.dir),
        application=APPLICATION,
    )
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        assert child.stdout.readline().strip() == "progress"  # the load flows
        assert load_clients(lab_params) == 10
        signalled = time.monotonic()
        child.send_signal(signal.SIGTERM)
        eventually(lambda: load_clients(lab_params) == 0, 2, "no client connection left")
        gone = time.monotonic() - signalled
        out, _ = child.communicate(timeout=10)
    finally:
        child.kill()
    result = json.loads(out.strip().splitlines()[-1])
    assert result["end"] == "interrupted" and result["ok"] > 0
    assert result["stop_seconds"] < 2 and gone < 2
