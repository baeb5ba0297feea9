"""The canary judge on synthetic latency histograms (bucket bounds of the workload)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rollbook.canary.judge import Buckets, Judgement, judge
from rollbook.canary.params import CanaryWorse
from rollbook.lab.workload.metrics import LATENCY_BUCKETS

BOUNDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, math.inf]


def histogram(latencies: np.ndarray) -> Buckets:
    """Bucket raw latencies the way a Prometheus histogram does (le = upper bound)."""
    index = np.searchsorted(BOUNDS, latencies, side="left")
    return Buckets.from_counts(BOUNDS, np.bincount(index, minlength=len(BOUNDS)).tolist())


def latencies(n: int, median: float, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).lognormal(np.log(median), 0.5, n)


def test_identical_distributions_pass():
    result = judge(
        histogram(latencies(2000, 0.02, 1)), histogram(latencies(2000, 0.02, 2)), CanaryWorse()
    )
    assert result.judgement is Judgement.PASS
    assert abs(result.effect - 0.5) < 0.03 and result.p_value > 0.01


def test_a_20_percent_latency_shift_with_enough_samples_fails():
    result = judge(
        histogram(latencies(2000, 0.024, 1)), histogram(latencies(2000, 0.02, 2)), CanaryWorse()
    )
    assert result.judgement is Judgement.WORSE
    assert result.p_value < 1e-6 and result.effect >= 0.56


def test_a_faster_canary_passes_the_one_sided_test():
    result = judge(
        histogram(latencies(2000, 0.01, 1)), histogram(latencies(2000, 0.02, 2)), CanaryWorse()
    )
    assert result.judgement is Judgement.PASS and result.effect < 0.5


@pytest.mark.parametrize("canary_n, baseline_n", [(49, 5000), (5000, 49), (0, 0)])
def test_small_samples_are_inconclusive_even_when_far_apart(canary_n, baseline_n):
    result = judge(
        histogram(latencies(canary_n, 2.0, 1)),
        histogram(latencies(baseline_n, 0.01, 2)),
        CanaryWorse(min_samples=50),
    )
    assert result.judgement is Judgement.INCONCLUSIVE
    assert (result.canary_samples, result.baseline_samples) == (canary_n, baseline_n)


def test_histograms_with_only_the_inf_bucket_are_inconclusive():
    only_inf = Buckets.from_counts([math.inf], [500])
    result = judge(only_inf, only_inf, CanaryWorse())
    assert result.judgement is Judgement.INCONCLUSIVE
    assert (result.canary_samples, result.baseline_samples) == (500, 500)


def test_a_significant_but_tiny_effect_is_not_worse():
    """Huge samples make a 2 % shift significant; the effect-size floor keeps it a pass."""
    canary, baseline = latencies(200_000, 0.0204, 1), latencies(200_000, 0.02, 2)
    result = judge(histogram(canary), histogram(baseline), CanaryWorse())
    assert result.p_value < 0.01 and result.effect < 0.56
    assert result.judgement is Judgement.PASS


def test_a_consistent_but_sub_millisecond_slowdown_is_not_worse():
    """A cold cache's extra round trip on a 4 ms endpoint: a large effect, nil in practice."""
    canary, baseline = latencies(2000, 0.0045, 1), latencies(2000, 0.004, 2)
    result = judge(histogram(canary), histogram(baseline), CanaryWorse())
    assert result.p_value < 0.01 and result.effect >= 0.56
    assert 0 < result.slowdown < 0.002
    assert result.judgement is Judgement.PASS
    strict = judge(histogram(canary), histogram(baseline), CanaryWorse(min_slowdown=0.0001))
    assert strict.judgement is Judgement.WORSE


def test_bucket_counts_come_from_cumulative_increases_rounded():
    buckets = Buckets((0.1, 0.5, math.inf), (10.4, 29.6, 30.2))
    assert buckets.counts.tolist() == [10, 19, 1] and buckets.total == 30


def test_quantile_interpolates_inside_the_bucket_like_promql():
    buckets = Buckets.from_counts([0.1, 0.2, math.inf], [50, 50, 0])
    assert buckets.quantile(0.5) == pytest.approx(0.1)
    assert buckets.quantile(0.95) == pytest.approx(0.19)
    assert Buckets.from_counts([0.1, math.inf], [0, 10]).quantile(0.95) == 0.1
    assert Buckets.empty().quantile(0.95) is None


def test_histograms_with_different_bounds_are_refused():
    with pytest.raises(ValueError, match="different bucket bounds"):
        judge(
            Buckets.from_counts([0.1, math.inf], [100, 0]),
            Buckets.from_counts([0.2, math.inf], [100, 0]),
            CanaryWorse(),
        )


def fine(latencies: np.ndarray) -> Buckets:
    """Bucketed as the workload buckets request latency (fine from 1 to 100 ms)."""
    bounds = [*LATENCY_BUCKETS, math.inf]
    index = np.searchsorted(bounds, latencies, side="left")
    return Buckets.from_counts(bounds, np.bincount(index, minlength=len(bounds)).tolist())


def test_a_slowdown_within_the_relative_floor_is_not_worse_however_many_requests():
    """The p-value is of "slower by more than min_slowdown_ratio": a +15 % canary is not
    significant against a 20 % floor, even where it is significantly slower."""
    canary, baseline = fine(latencies(20_000, 0.0115, 1)), fine(latencies(20_000, 0.01, 2))
    floor = CanaryWorse(min_slowdown=0.0005, min_effect=0.52, min_slowdown_ratio=0.2)
    within = judge(canary, baseline, floor)
    assert within.judgement is Judgement.PASS and within.p_value > 0.5
    plain = judge(canary, baseline, floor.model_copy(update={"min_slowdown_ratio": 0}))
    assert plain.judgement is Judgement.WORSE
    beyond = judge(fine(latencies(20_000, 0.015, 1)), baseline, floor)
    assert beyond.judgement is Judgement.WORSE and beyond.p_value < 1e-6


def test_scaling_a_histogram_moves_its_quantiles_by_the_factor():
    buckets = fine(latencies(20_000, 0.02, 3))
    slower = buckets.scaled(1.5)
    assert slower.total == pytest.approx(buckets.total, abs=len(buckets.bounds))
    assert slower.quantile(0.5) == pytest.approx(1.5 * buckets.quantile(0.5), rel=0.05)


def test_a_slower_median_with_a_faster_tail_is_a_trade_off_not_a_regression():
    """A cache canary: every miss pays a round trip (median 5 -> 7 ms), hits cut the tail
    (p95 19 -> 10 ms). Judged on the median alone it is WORSE; with the tail it passes and
    says by how much the tail moved."""
    rng = np.random.default_rng(3)
    canary = fine(rng.lognormal(np.log(0.007), 0.2, 400))
    baseline = fine(rng.lognormal(np.log(0.005), 0.8, 400))
    settings = CanaryWorse(min_samples=20, min_slowdown=0.0005, min_slowdown_ratio=0.15)
    median_only = judge(canary, baseline, settings.model_copy(update={"tail_quantile": None}))
    assert median_only.judgement is Judgement.WORSE and median_only.tail_change is None
    with_tail = judge(canary, baseline, settings)
    assert with_tail.judgement is Judgement.PASS
    assert with_tail.slowdown > 0.0015 and with_tail.tail_change < -0.005
    assert with_tail.observed["tail_change_seconds"] == with_tail.tail_change


def test_a_slowdown_that_moves_the_tail_too_is_still_worse():
    canary, baseline = fine(latencies(400, 0.0075, 4)), fine(latencies(400, 0.005, 5))
    result = judge(
        canary, baseline, CanaryWorse(min_samples=20, min_slowdown=0.0005, min_slowdown_ratio=0.15)
    )
    assert result.judgement is Judgement.WORSE and result.tail_change > 0
