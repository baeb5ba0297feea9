"""The parent's side: the workers' interval tallies added up exactly into step totals and
a timeline, watched for abort limits, turned into a `LoadResult`."""

from __future__ import annotations

from rollbook.load.abort import AbortWatch
from rollbook.load.result import (
    IntervalRow,
    LoadResult,
    RequestStats,
    RunEnd,
    StepResult,
    WorkerReport,
)
from rollbook.load.schedule import step_starts
from rollbook.load.spec import LoadSpec
from rollbook.load.tally import Key, Tally, added


class Collector:
    def __init__(self, spec: LoadSpec) -> None:
        self.spec = spec
        self.totals: dict[Key, Tally] = {}
        self.intervals: dict[int, Tally] = {}
        self.reported: dict[int, set[int]] = {}  # interval -> workers that reported it
        self.workers: list[WorkerReport] = []
        self.watch = AbortWatch(spec.abort, spec.report_interval)

    def add(self, worker: int, interval: int, tallies: dict[Key, Tally]) -> IntervalRow | None:
        """Add one worker's interval; the interval's row once every worker reported it."""
        for key, tally in tallies.items():
            self.totals.setdefault(key, Tally()).add(tally)
        merged = added(list(tallies.values()))
        self.intervals.setdefault(interval, Tally()).add(merged)
        self.watch.add(interval, merged)
        seen = self.reported.setdefault(interval, set())
        seen.add(worker)
        if len(seen) == self.spec.worker_count:
            return self._row(interval)
        return None

    def _row(self, interval: int) -> IntervalRow:
        every = self.spec.report_interval
        return IntervalRow(interval, (interval + 1) * every, every, self.intervals[interval])

    def result(
        self, end: RunEnd, reason: str, elapsed: float, stop_seconds: float | None
    ) -> LoadResult:
        """The result of a run that got `elapsed` seconds into its schedule."""
        steps = []
        for index, (start, step) in enumerate(
            zip(step_starts(self.spec.steps), self.spec.steps, strict=True)
        ):
            judged_from = start + step.warmup
            seconds = min(elapsed, start + step.duration) - judged_from
            if seconds <= 0:
                continue
            names = [n for n, rate in step.rates.items() if rate > 0]
            steps.append(
                StepResult(
                    index,
                    step,
                    seconds,
                    {
                        n: RequestStats(n, self.totals.get((index, True, n), Tally()), seconds)
                        for n in names
                    },  # fmt: skip
                    self.spec.generator,
                    warmup=added([self.totals.get((index, False, n), Tally()) for n in names]),
                )
            )
        return LoadResult(
            end=end,
            reason=reason,
            steps=steps,
            timeline=[self._row(k) for k in sorted(self.intervals)],
            workers=sorted(self.workers, key=lambda w: w.worker),
            clients=self.spec.clients,
            seconds=elapsed,
            stop_seconds=stop_seconds,
        )
