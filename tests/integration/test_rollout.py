"""`rollbook rollout --apply` on the test lab with the workload running: preflight and
Phases 1-4 pass in order through the runner (exit 0), every archived run is printed, every
rollout flag is promoted to 100 %, each phase's own checks hold (pool, cache correctness,
stale reads, replica routing) and no acknowledged send is lost across the rollout.

The rollout is the session's shared one (`_rollout`, about 5 minutes): it is also where
each phase's `--apply` is tested; the test_phase<N>_* files test the dry runs.
"""

from __future__ import annotations

import json
import re
from datetime import datetime

from _phases_lab import checks_by_name, rollbook

from rollbook.db import session
from rollbook.flags import FlagStore
from rollbook.prom.window import Window
from rollbook.rollout import ROLLOUT_FLAGS, ROLLOUT_RUNBOOKS
from rollbook.runbooks import cache

RUNBOOKS = [name.removesuffix(".ipynb") for name in ROLLOUT_RUNBOOKS]


def test_every_runbook_passes_in_order(rollout):
    done, results = rollout.done, rollout.results
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "rollout complete: 5 runbooks passed" in done.stdout
    assert list(results) == RUNBOOKS
    assert all(r["verdict"] == "passed" and r["apply"] for r in results.values())
    assert all((d / "report.html").is_file() for d in rollout.run_dirs)


def test_every_flag_promoted_and_no_send_lost(rollout):
    sends, results = rollout.sends, rollout.results
    assert rollout.flags == {flag: 100.0 for flag in ROLLOUT_FLAGS}
    ramped = [(r["flag"], r["outcome"]) for n in RUNBOOKS[2:]
              for r in results[n]["data"]["ramps"]["ramps"]]  # fmt: skip
    assert ramped == [(flag, "promoted") for flag in ROLLOUT_FLAGS]
    assert sends.acknowledged > 0 and sends.acknowledged == sends.written


def test_each_phase_checks_what_it_is_for(rollout):
    """Each check below was required, measured and passed against its limit; beyond that,
    it measured what it names, over the window it should, in full."""
    results = rollout.results
    phase2 = results["02_phase2_pgbouncer"]
    saturation = checks_by_name(phase2)["PgBouncer pool saturation during the ramps"]
    ramps_window = Window(*map(datetime.fromisoformat, phase2["data"]["ramps"]["window"]))
    assert judged(saturation, "<= 0.9") and saturation["detail"].endswith(f" over {ramps_window}")
    phase3 = checks_by_name(results["03_phase3_redis_cache"])
    consistent = phase3[cache.CONSISTENCY_CHECK]
    assert judged(consistent, "== 0") and consistent["observed"] == 0
    assert re.match(r"[1-9]\d* compared", consistent["detail"])  # the service's entries
    invalidated = phase3["a send invalidates the conversation's cached pages"]
    # up to 5 sends seen within the probe's timeout, none of which left the page in place
    assert judged(invalidated, "<= 5")
    assert re.match(r"worst of [1-5] sends .*; 0 left", invalidated["detail"])
    assert results["03_phase3_redis_cache"]["data"]["redis_after"]["keys"] > 0
    phase4 = checks_by_name(results["04_phase4_replica_routing"])
    stale = phase4["replica reads see a primary write within the breaker threshold"]
    # probe rows written on the primary and read back on the replica (a dry run only waits
    # for WAL replay)
    assert judged(stale, "<= 5")  # the breaker's threshold (flag default)
    assert stale["detail"] == "worst of 5 probe writes; none = not seen in time"
    assert phase4["requests served by the replica"]["observed"] > 0.1
    load = phase4["primary tuples read: after the ramps / preflight baseline"]
    preflight_run = rollout.run_dirs[RUNBOOKS.index("00_preflight")].name
    assert judged(load, "<= 1") and load["detail"] == f"baseline of {preflight_run}"


def judged(check: dict, threshold: str) -> bool:
    """A required check that passed on a measurement (not informational, not no data),
    against `threshold` (the runbook's limit, not a looser one)."""
    return (
        check["required"]
        and check["status"] == "pass"
        and check["observed"] is not None
        and check["threshold"] == threshold
    )


def test_flag_audit_rows_join_the_archived_run_that_ramped_them(rollout, lab_params):
    started = json.loads((rollout.run_dirs[0] / "manifest.json").read_text())["started_at"]
    with session(lab_params.primary, lab_params.safety, purpose="test") as conn:
        audit = FlagStore(conn).history(since=started)
    ramped = audit[audit["changed_by"] == "rollbook canary"]
    assert set(ramped["name"]) == set(ROLLOUT_FLAGS)
    phases = list(zip(RUNBOOKS, rollout.run_dirs, strict=True))[2:]
    for runbook, run_dir in phases:
        run_id = run_dir.name
        flags = {r["flag"] for r in rollout.results[runbook]["data"]["ramps"]["ramps"]}
        assert set(ramped.loc[ramped["run_id"] == run_id, "name"]) == flags
        shown = rollbook("runs", "show", run_id, "--output-dir", str(rollout.output_dir))
        assert shown.returncode == 0 and f"run {run_id}: {runbook} on" in shown.stdout
    assert set(ramped["run_id"]) == {run_dir.name for _, run_dir in phases}
    # Phase 3's cache warm-up (raised, then restored) is audited under Phase 3's run too
    warm_up = audit[audit["changed_by"] == cache.WARM_UP_BY]
    phase3_run = rollout.run_dirs[RUNBOOKS.index("03_phase3_redis_cache")].name
    assert not warm_up.empty and set(warm_up["run_id"]) == {phase3_run}
