"""HDR latency histograms: the workers' encoded histograms merge exactly (every bucket,
every percentile, as one histogram of all the values would hold them)."""

from __future__ import annotations

import pickle
import random

from rollbook.load.histogram import (
    PERCENTILES,
    decode,
    encode,
    maximum,
    new_histogram,
    percentile,
    record,
    spectrum,
)
from rollbook.load.tally import Tally, added


def buckets(histogram) -> list[tuple[int, int]]:
    return [(i.value_iterated_to, i.count_at_value_iterated_to)
            for i in histogram.get_recorded_iterator()]  # fmt: skip


def test_encoded_worker_histograms_merge_exactly():
    rng = random.Random(7)
    values = [[rng.lognormvariate(-5, 1.2) for _ in range(5000)] for _ in range(3)]
    whole, parts = new_histogram(), []
    for worker_values in values:
        part = new_histogram()
        for v in worker_values:
            record(part, v)
            record(whole, v)
        parts.append(decode(encode(part)))  # as it crosses the process boundary
    total = new_histogram()
    for part in parts:
        total.add(part)  # as Tally.add merges the workers' histograms
    assert total.get_total_count() == 15000
    assert buckets(total) == buckets(whole)
    for p in PERCENTILES:
        assert percentile(total, p) == percentile(whole, p)
    assert maximum(total) == maximum(whole)


def test_tallies_add_up_exactly_through_pickling():
    rng = random.Random(8)
    tallies, whole = [], Tally()
    for _ in range(4):
        tally = Tally(scheduled=100, ok=90, late_dispatch=1, late_client=2)
        tally.errors["timeout"] += 10
        for _ in range(90):
            value = rng.uniform(0.001, 0.2)
            record(tally.latency, value)
            record(whole.latency, value)
        tallies.append(pickle.loads(pickle.dumps(tally)))
    total = added(tallies)
    assert (total.scheduled, total.ok, total.failed, total.late_dispatch, total.late_client) == (
        400, 360, 40, 4, 8,
    )  # fmt: skip
    assert buckets(total.latency) == buckets(whole.latency)


def test_values_out_of_range_are_clamped_not_dropped():
    histogram = new_histogram()
    record(histogram, 0.0)
    record(histogram, 1e9)
    assert histogram.get_total_count() == 2
    assert maximum(histogram) >= 3600


def test_spectrum_reaches_the_maximum_and_counts_every_value():
    histogram = new_histogram()
    for ms in range(1, 1001):
        record(histogram, ms / 1000)
    points = spectrum(histogram)
    assert points[-1].percentile == 100 and points[-1].count == 1000
    assert abs(points[-1].seconds - 1.0) < 0.001
    assert [p.percentile for p in points] == sorted(p.percentile for p in points)
    assert percentile(new_histogram(), 99) is None and spectrum(new_histogram()) == []
