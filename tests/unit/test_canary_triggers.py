"""Triggers and verdicts that cannot lie: missing cache data is no data, a dry run is
planned, not passed (issue 12)."""

from __future__ import annotations

import math
from dataclasses import replace

from rollbook.canary.judge import Buckets
from rollbook.canary.metrics import Snapshot
from rollbook.canary.params import Triggers
from rollbook.canary.result import Outcome, RampResult
from rollbook.canary.triggers import Signal, TriggerSet
from rollbook.verdict import Status

REQUESTS = {("canary", "ok"): 100.0, ("canary", "error"): 0.0, ("baseline", "ok"): 100.0}


def cache_triggers() -> TriggerSet:
    return TriggerSet(["error_rate"], Triggers(), 1.0, Buckets.empty(), cache_ramp=True)


def test_a_cache_ramp_without_cache_lookups_has_no_data_not_a_pass():
    [result] = cache_triggers().evaluate(Snapshot(10, requests=REQUESTS))
    assert result.signal is Signal.NO_DATA
    assert result.observed["cache_error_ratio"] is None


def test_cache_lookups_seen_are_judged():
    healthy = Snapshot(10, requests=REQUESTS, cache_lookups=50, cache_errors=0)
    failing = Snapshot(10, requests=REQUESTS, cache_lookups=50, cache_errors=5)
    assert cache_triggers().evaluate(healthy)[0].signal is Signal.OK
    assert cache_triggers().evaluate(failing)[0].signal is Signal.FIRED


def test_after_a_rollback_to_0_percent_the_endpoints_errors_decide():
    snap = Snapshot(10, requests={("baseline", "ok"): 100.0})  # no cache lookups left
    [result] = cache_triggers().recovery(snap, ["error_rate"])
    assert result.signal is Signal.OK


def test_a_dry_run_ramp_is_planned_not_passed():
    result = RampResult("cache.history", "run-1", [50.0, 100.0], 0.0, 0.0)
    result.outcome = Outcome.DRY_RUN
    [check] = result.checks()
    assert check.status is not Status.PASS and check.status is Status.NO_DATA
    assert not check.required and not check.blocks
    assert check.observed == "planned: 50 % → 100 %" and "planned" in check.name


def test_the_judge_reports_the_level_it_judged_at():
    reference = Buckets.from_counts([0.01, math.inf], [100, 0])
    triggers = TriggerSet(["canary_worse"], Triggers(), 1.0, reference, judge_alpha=0.0002)
    snap = Snapshot(10, buckets={"canary": reference, "baseline": reference})
    [result] = triggers.evaluate(snap)
    assert result.observed["alpha"] == 0.0002 and "p < 0.0002" in result.threshold


def test_a_partial_step_judges_against_live_baseline_only():
    """At 50 % with too few baseline requests in the window the judgement is no data: the
    pre-ramp reference (here much faster: the machine was quieter then) stands in only at a
    100 % step, where no live baseline is left (a CI rollout was rolled back on it)."""
    bounds = [0.002, 0.004, 0.008, math.inf]
    quiet_before = Buckets.from_counts(bounds, [400, 50, 10, 0])
    busy_now = Buckets.from_counts(bounds, [2, 8, 30, 0])
    thin_baseline = Buckets.from_counts(bounds, [1, 3, 10, 0])  # 14 < min_samples 20
    settings = Triggers.model_validate({"canary_worse": {"min_samples": 20}})
    partial = TriggerSet(["canary_worse"], settings, 1.0, quiet_before, judge_alpha=0.001)
    snap = Snapshot(10, buckets={"canary": busy_now, "baseline": thin_baseline})
    [result] = partial.evaluate(snap)
    assert result.signal is Signal.NO_DATA and result.observed["baseline"] == "live"
    [full] = replace(partial, full_step=True).evaluate(Snapshot(10, buckets={"canary": busy_now}))
    assert full.signal is Signal.FIRED and full.observed["baseline"] == "pre-ramp reference"
