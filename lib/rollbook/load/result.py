"""A load run's typed result: per step and request type, what was offered, achieved and
how long it took (HDR percentiles up to p99.9 and the full spectrum), how the run ended,
and whether the generator itself kept up (else the step is inconclusive)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from enum import StrEnum

from rollbook.load.histogram import PERCENTILES, encode, maximum, percentile, spectrum
from rollbook.load.schedule import Step
from rollbook.load.spec import GeneratorLimits
from rollbook.load.tally import Tally, added


class RunEnd(StrEnum):
    COMPLETED = "completed"  # the whole schedule ran
    ABORTED = "aborted"  # an abort limit was crossed
    INTERRUPTED = "interrupted"  # SIGTERM, Ctrl-C: what was measured until then


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass
class RequestStats:
    """One request type (or all of them) over a step's judged seconds."""

    name: str
    tally: Tally
    seconds: float

    @property
    def offered_rate(self) -> float:
        """Requests dispatched per second (the schedule's realised rate)."""
        return self.tally.scheduled / self.seconds

    @property
    def achieved_rate(self) -> float:
        """Requests that succeeded per second."""
        return self.tally.ok / self.seconds

    @property
    def error_ratio(self) -> float | None:
        return _share(self.tally.failed, self.tally.ok + self.tally.failed)

    @property
    def late_share(self) -> float | None:
        """Requests that started late, for any reason (behind schedule, no free client)."""
        return _share(self.tally.late_dispatch + self.tally.late_client, self.tally.scheduled)

    @property
    def late_dispatch_share(self) -> float | None:
        """Requests the generator itself dispatched late."""
        return _share(self.tally.late_dispatch, self.tally.scheduled)

    def latency(self, percent: float) -> float | None:
        return percentile(self.tally.latency, percent)

    def lag(self, percent: float) -> float | None:
        return percentile(self.tally.lag, percent)

    def summary(self) -> dict:
        """A flat row (seconds, shares as fractions) for tables and the archive."""
        tally = self.tally
        return {
            "name": self.name,
            "seconds": self.seconds,
            "scheduled": tally.scheduled,
            "ok": tally.ok,
            "errors": tally.failed,
            "unfinished": tally.unfinished,
            "offered_rate": self.offered_rate,
            "achieved_rate": self.achieved_rate,
            "error_ratio": self.error_ratio,
            "late_share": self.late_share,
            "late_dispatch_share": self.late_dispatch_share,
            **{f"p{p:g}_seconds": self.latency(p) for p in PERCENTILES},
            "max_seconds": maximum(tally.latency),
            "lag_p99_seconds": self.lag(99),
        }

    def archive(self) -> dict:
        """`summary()`, error reasons, the percentile spectrum and the encoded histograms."""
        return {
            **self.summary(),
            "error_reasons": dict(self.tally.errors),
            "spectrum": [vars(point) for point in spectrum(self.tally.latency)],
            "latency_hdr": base64.b64encode(encode(self.tally.latency)).decode(),
            "lag_hdr": base64.b64encode(encode(self.tally.lag)).decode(),
        }


@dataclass
class StepResult:
    """A step's judged part (after its warm-up), as far as the run got."""

    index: int
    step: Step
    seconds: float
    requests: dict[str, RequestStats]
    generator: GeneratorLimits
    warmup: Tally = field(default_factory=Tally)

    @property
    def total(self) -> RequestStats:
        tallies = [r.tally for r in self.requests.values()]
        return RequestStats("all", added(tallies), self.seconds)

    @property
    def inconclusive(self) -> list[str]:
        """Why the generator, not the target, may have been the limit (empty: it kept up)."""
        share = self.total.late_dispatch_share
        if share is None or share <= self.generator.max_late_share:
            return []
        return [
            f"the generator dispatched {share:.1%} of requests more than "
            f"{self.generator.late_after * 1000:g} ms behind schedule (limit "
            f"{self.generator.max_late_share:.1%})"
        ]


@dataclass(frozen=True)
class IntervalRow:
    """What finished in one report interval, all workers and request types."""

    interval: int
    at_seconds: float  # the interval's end, from the start
    seconds: float
    tally: Tally

    @property
    def stats(self) -> RequestStats:
        """Rates in the interval: dispatched (offered) and finished ok (throughput)."""
        return RequestStats("all", self.tally, self.seconds)


@dataclass(frozen=True)
class WorkerReport:
    worker: int
    clients: int
    cpu_seconds: float
    wall_seconds: float
    reconnects: int

    @property
    def busy_share(self) -> float:
        """Share of one core the worker used while the load ran."""
        return self.cpu_seconds / self.wall_seconds if self.wall_seconds else 0.0


@dataclass
class LoadResult:
    end: RunEnd
    reason: str
    steps: list[StepResult]
    timeline: list[IntervalRow]
    workers: list[WorkerReport]
    clients: int
    seconds: float
    stop_seconds: float | None = None  # from the stop request until every worker had exited

    @property
    def inconclusive(self) -> list[str]:
        return [f"step {s.index + 1}: {why}" for s in self.steps for why in s.inconclusive]

    def archive(self) -> dict:
        """Everything measured, JSON-ready: per step each request type's summary, error
        reasons, percentile spectrum and encoded HDR histograms; the timeline; workers."""
        return {
            "end": self.end.value,
            "reason": self.reason,
            "clients": self.clients,
            "seconds": self.seconds,
            "stop_seconds": self.stop_seconds,
            "inconclusive": self.inconclusive,
            "steps": [
                {
                    "step": s.index + 1,
                    "rates": dict(s.step.rates),
                    "duration": s.step.duration,
                    "warmup": s.step.warmup,
                    "requests": [r.archive() for r in [*s.requests.values(), s.total]],
                }
                for s in self.steps
            ],
            "timeline": [
                row.stats.summary() | {"at_seconds": row.at_seconds} for row in self.timeline
            ],
            "workers": [vars(w) | {"busy_share": w.busy_share} for w in self.workers],
        }

    def table(self) -> list[dict]:
        """One row per step and request type, then the step's total."""
        return [
            {"step": s.index + 1, **stats.summary()}
            for s in self.steps
            for stats in [*s.requests.values(), s.total]
        ]
