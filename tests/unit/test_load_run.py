"""The load generator end to end with worker processes and a fake target: the start
barrier, exact merging across workers, a generator behind schedule, the abort limit, and
SIGTERM stopping a run within 2 s with what was measured."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from _fake_load import FakeService, FakeTarget

from rollbook.load.abort import AbortLimits
from rollbook.load.judge import Judgement, Objective, judge
from rollbook.load.result import RunEnd
from rollbook.load.run import run_load
from rollbook.load.schedule import Step
from rollbook.load.spec import GeneratorLimits, LoadSpec

HERE = Path(__file__).resolve().parent


# A busy machine delays a process by several ms at times: only a starved generator (100 ms
# late) counts as behind schedule here, so these tests do not depend on the machine.
PATIENT = GeneratorLimits(late_after=0.1, max_late_share=0.05)


def spec(service: FakeService, rate: float, duration: float, **options) -> LoadSpec:
    options = {"clients": 8, "workers": 2, "poisson": False, "generator": PATIENT, **options}
    return LoadSpec(FakeTarget(), (service,), (Step({"fake": rate}, duration),), **options)


def test_workers_share_the_schedule_and_their_tallies_add_up():
    rows = []
    result = run_load(spec(FakeService(), rate=200, duration=1.0), progress=rows.append)
    assert result.end is RunEnd.COMPLETED and not result.inconclusive
    (step,) = result.steps
    total = step.total
    assert total.tally.scheduled == total.tally.ok == 200  # 2 workers x 100, interleaved
    assert total.achieved_rate == total.offered_rate == 200
    assert [w.worker for w in result.workers] == [0, 1]
    assert sum(w.clients for w in result.workers) == 8
    assert rows and sum(r.tally.ok for r in result.timeline) == 200
    archived = json.loads(json.dumps(result.archive()))
    (archived_step,) = archived["steps"]
    assert [r["name"] for r in archived_step["requests"]] == ["fake", "all"]
    assert archived_step["requests"][1]["spectrum"][-1]["count"] == 200
    assert judge(step, Objective(p95_seconds=0.5)).judgement is Judgement.PASS


def test_a_worker_without_cpu_to_spare_makes_the_run_inconclusive():
    # each request blocks the worker for 10 ms: at most 100/s, 300/s offered, so the
    # generator falls 2 s behind schedule within its 1 s
    busy = FakeService(block_seconds=0.01)
    result = run_load(spec(busy, rate=300, duration=1.0, workers=1))
    (step,) = result.steps
    assert step.inconclusive and result.inconclusive
    assert judge(step, Objective(p95_seconds=0.001)).judgement is Judgement.INCONCLUSIVE


def test_an_error_ratio_past_the_hard_limit_ends_the_run_at_once():
    failing = FakeService(fail=True)
    limits = AbortLimits(max_error_ratio=0.2, window_seconds=1.0)
    started = time.monotonic()
    result = run_load(spec(failing, rate=100, duration=30.0, abort=limits))
    assert result.end is RunEnd.ABORTED and "error ratio" in result.reason
    assert time.monotonic() - started < 10 and result.seconds < 3
    assert result.stop_seconds is not None and result.stop_seconds < 2


SIGTERM_RUN = """
import json, sys
from _fake_load import FakeService, FakeTarget
from rollbook.load.run import run_load
from rollbook.load.schedule import Step
from rollbook.load.spec import GeneratorLimits, LoadSpec

spec = LoadSpec(FakeTarget(), (FakeService(hang={hang}),), (Step({{"fake": 50}}, 60.0),),
                clients=4, workers=2, poisson=False)
result = run_load(spec, progress=lambda row: print("progress", flush=True))
print(json.dumps({{"end": result.end.value, "stop_seconds": result.stop_seconds,
                  "scheduled": result.steps[0].total.tally.scheduled if result.steps else 0}}))
"""


def sigterm_run(hang: bool) -> tuple[dict, float]:
    """Start a 60 s run in a child, SIGTERM it once the load flows; (its printed result,
    seconds from the signal to its exit, interpreter shutdown included)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), *sys.path])}
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(SIGTERM_RUN.format(hang=hang))],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert child.stdout.readline().strip() == "progress"  # the load flows
        signalled = time.monotonic()
        child.send_signal(signal.SIGTERM)
        out, _ = child.communicate(timeout=10)
        exited = time.monotonic() - signalled
    finally:
        child.kill()
    return json.loads(out.strip().splitlines()[-1]), exited


def test_sigterm_stops_the_run_within_two_seconds_with_what_was_measured():
    result, exited = sigterm_run(hang=False)
    assert result["end"] == "interrupted" and result["scheduled"] > 0
    # stop_seconds: from the signal until every worker process had exited
    assert result["stop_seconds"] < 2 and exited < 5


def test_sigterm_stops_requests_that_never_answer_too():
    result, exited = sigterm_run(hang=True)
    assert result["end"] == "interrupted"
    assert result["stop_seconds"] < 2 and exited < 5
