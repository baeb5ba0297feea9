"""Abort limits: the load test must never be the outage. An error ratio or a p95 past its
hard limit over the last few seconds ends the run at once."""

from __future__ import annotations

from dataclasses import dataclass

from rollbook.load.histogram import percentile
from rollbook.load.tally import Tally, added


@dataclass(frozen=True)
class AbortLimits:
    """Limits over the last `window_seconds` (all request types), judged once at least
    `min_requests` requests finished there. None: no such limit."""

    max_error_ratio: float | None = 0.1
    max_p95_seconds: float | None = None
    window_seconds: float = 2.0
    min_requests: int = 20


class AbortWatch:
    """Adds the workers' interval tallies and says when a limit is crossed."""

    def __init__(self, limits: AbortLimits, interval_seconds: float) -> None:
        self.limits = limits
        self.span = max(1, round(limits.window_seconds / interval_seconds))
        self.intervals: dict[int, Tally] = {}

    def add(self, interval: int, tally: Tally) -> None:
        self.intervals.setdefault(interval, Tally()).add(tally)
        newest = max(self.intervals)
        for old in [k for k in self.intervals if k <= newest - self.span]:
            del self.intervals[old]

    def crossed(self) -> str | None:
        """Why the run must end now (None: every limit holds)."""
        window = added(list(self.intervals.values()))
        finished = window.ok + window.failed
        limits = self.limits
        if finished < limits.min_requests:
            return None
        over = f"over the last {limits.window_seconds:g} s"
        error_ratio = window.failed / finished
        if limits.max_error_ratio is not None and error_ratio > limits.max_error_ratio:
            return (
                f"error ratio {error_ratio:.1%} {over} ({window.failed} of {finished}) is past "
                f"the hard limit {limits.max_error_ratio:.1%}"
            )
        p95 = percentile(window.latency, 95)
        if limits.max_p95_seconds is not None and p95 is not None and p95 > limits.max_p95_seconds:
            return (
                f"p95 {p95 * 1000:.0f} ms {over} is past the hard limit "
                f"{limits.max_p95_seconds * 1000:.0f} ms"
            )
        return None
