"""Cold start: a step's warm-up is not judged unless the ramp says so, and the archived ramp
log says which (issue 12)."""

from __future__ import annotations

from rollbook.canary.params import CanaryParams
from rollbook.canary.result import Outcome
from rollbook.canary.simulate import Traffic, simulate_ramp
from rollbook.lab.workload.metrics import LATENCY_BUCKETS

SETTINGS = CanaryParams.model_validate(
    {
        "steps": [50, 100],
        "check_interval": 2,
        "check_window": 10,
        "warmup": 4,
        "hold": 6,
        "max_extend": 12,
        "reference_window": 60,
        "triggers": {"canary_worse": {"min_samples": 20, "min_slowdown": 0.001}},
    }
)
# A cold path: the canary's first 4 s after each step are three times slower, then it is
# as fast as the baseline.
COLD = Traffic(0.005, rate=30, cold_seconds=4, cold_factor=3)


def test_a_cold_start_within_the_warmup_is_not_judged_and_the_log_says_so():
    result = simulate_ramp(SETTINGS, COLD, LATENCY_BUCKETS, seed=3)
    assert result.outcome is Outcome.PROMOTED, result.reason
    timeline = result.timeline()
    steps = timeline.query("kind == 'step'")["detail"]
    assert steps.str.contains("warm-up 4 s not judged").all()
    warmups = timeline.query("kind == 'warmup'")
    assert len(warmups) == 2 * 2 and warmups["detail"].str.contains("not judged").all()
    first_checks = timeline.query("kind == 'check'").groupby("flag_value")["detail"].first()
    assert first_checks.str.startswith("2 s window").all()  # only the time after the warm-up


def test_a_ramp_that_judges_its_warmup_rolls_the_cold_path_back():
    settings = SETTINGS.model_copy(update={"judge_warmup": True})
    result = simulate_ramp(settings, COLD, LATENCY_BUCKETS, seed=3)
    assert result.outcome is Outcome.ROLLED_BACK and result.trigger == "canary_worse"
    first_step = result.timeline().query("kind == 'step'")["detail"].iloc[0]
    assert "judged too (judge_warmup)" in first_step
