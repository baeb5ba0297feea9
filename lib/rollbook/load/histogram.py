"""Latency histograms: HDR (microseconds, 3 significant digits), merged exactly across
workers through their compressed encoding."""

from __future__ import annotations

from dataclasses import dataclass

from hdrh.histogram import HdrHistogram

LOWEST_US = 1
HIGHEST_US = 3_600_000_000  # one hour: longer values are recorded as this
SIGNIFICANT_FIGURES = 3
PERCENTILES = (50.0, 90.0, 95.0, 99.0, 99.9)
TICKS_PER_HALF_DISTANCE = 5  # the spectrum's resolution (as HdrHistogram's own logs)


def new_histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_FIGURES)


def record(histogram: HdrHistogram, seconds: float) -> None:
    """Record a duration (clamped into the histogram's range, never dropped)."""
    histogram.record_value(min(max(round(seconds * 1e6), LOWEST_US), HIGHEST_US))


def encode(histogram: HdrHistogram) -> bytes:
    """HdrHistogram's compressed, base64 encoding (the form other HDR tools read)."""
    return histogram.encode()


def decode(encoded: bytes) -> HdrHistogram:
    """A histogram from `encode`, added into one of this module's range."""
    histogram = new_histogram()
    histogram.add(HdrHistogram.decode(encoded))
    return histogram


def percentile(histogram: HdrHistogram, percent: float) -> float | None:
    """The value at `percent` in seconds (None: nothing recorded)."""
    if histogram.get_total_count() == 0:
        return None
    return histogram.get_value_at_percentile(percent) / 1e6


def maximum(histogram: HdrHistogram) -> float | None:
    return histogram.get_max_value() / 1e6 if histogram.get_total_count() else None


@dataclass(frozen=True)
class SpectrumPoint:
    """One row of the percentile spectrum: `count` values are <= `seconds`."""

    percentile: float
    seconds: float
    count: int


def spectrum(histogram: HdrHistogram) -> list[SpectrumPoint]:
    """The full percentile spectrum (HdrHistogram's percentile distribution)."""
    if histogram.get_total_count() == 0:
        return []
    return [
        SpectrumPoint(item.percentile, item.value_iterated_to / 1e6, item.total_count_to_this_value)
        for item in histogram.get_percentile_iterator(TICKS_PER_HALF_DISTANCE)
    ]
