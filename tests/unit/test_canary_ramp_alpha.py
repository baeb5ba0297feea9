"""Repeated testing: a ramp judges many overlapping windows, so each judgement gets a share
of the ramp's false-rollback budget (issue 12). Simulated ramps through the real controller
and judge, latency bucketed as the workload buckets it."""

from __future__ import annotations

import pytest

from rollbook.canary.params import CanaryParams
from rollbook.canary.result import Outcome
from rollbook.canary.simulate import Traffic, simulate_ramp
from rollbook.lab.workload.metrics import LATENCY_BUCKETS

SETTINGS = CanaryParams.model_validate(
    {
        "steps": [25, 50, 100],
        "check_interval": 2,
        "check_window": 10,
        "warmup": 2,
        "hold": 6,
        "max_extend": 12,
        "reference_window": 60,
        "triggers": {"canary_worse": {"alpha": 0.01, "min_samples": 20, "min_slowdown": 0.0005}},
    }
)


def test_the_budget_is_split_over_every_judgement_a_ramp_can_make():
    # per step: checks at judged 2, 4, ..., 18 (at most 10 with a late clock); gates from 6 s,
    # judging anew once the step outgrows the 10 s window: 12, ..., 18 (at most 5)
    assert SETTINGS.judgements_per_step() == 10 + 5
    assert SETTINGS.judge_alpha == pytest.approx(0.01 / (3 * 15))
    warm = SETTINGS.model_copy(update={"judge_warmup": True})  # windows reach into the warm-up
    assert warm.judgements_per_step() == 10 + 6


def test_healthy_ramps_are_rolled_back_within_the_ramps_budget():
    """The old rule (every check at the full alpha) rolled back 5 of these 100."""
    outcomes = [simulate_ramp(SETTINGS, Traffic(0.005), LATENCY_BUCKETS, s).outcome
                for s in range(100)]  # fmt: skip
    assert outcomes.count(Outcome.ROLLED_BACK) <= 1
    assert outcomes.count(Outcome.PROMOTED) >= 95


def test_a_50_percent_slowdown_is_still_rolled_back():
    traffic = Traffic(0.005, slowdown=1.5)
    outcomes = [simulate_ramp(SETTINGS, traffic, LATENCY_BUCKETS, s).outcome for s in range(20)]
    assert outcomes.count(Outcome.ROLLED_BACK) >= 19
