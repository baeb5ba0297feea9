"""The workload's latency buckets are fine where the endpoints live (issue 12: a coarse
layout made the judge's interpolated median jump by milliseconds)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rollbook.canary.judge import Buckets
from rollbook.lab.workload.metrics import LATENCY_BUCKETS

BOUNDS = [*LATENCY_BUCKETS, math.inf]


def test_bounds_grow_by_at_most_10_percent_from_1_to_100_ms():
    fine = [b for b in LATENCY_BUCKETS if 0.001 <= b <= 0.1]
    assert fine[0] == 0.001 and fine[-1] == 0.1
    assert max(b / a for a, b in zip(fine, fine[1:], strict=False)) <= 1.10


@pytest.mark.parametrize("median", [0.002, 0.004, 0.007, 0.012, 0.02])
def test_the_interpolated_median_is_within_2_percent_of_the_samples_median(median):
    latencies = np.random.default_rng(7).lognormal(np.log(median), 0.5, 20_000)
    index = np.searchsorted(BOUNDS, latencies, side="left")
    buckets = Buckets.from_counts(BOUNDS, np.bincount(index, minlength=len(BOUNDS)).tolist())
    assert buckets.quantile(0.5) == pytest.approx(np.median(latencies), rel=0.02)
