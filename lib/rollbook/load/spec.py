"""One load run described: request sources, the rate ladder, virtual clients, workers, and
the guard rails (abort limits, the generator's own honesty limits)."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field

from rollbook.load.abort import AbortLimits
from rollbook.load.schedule import ScheduleError, Step
from rollbook.load.sources import RequestSource
from rollbook.load.target import Target


@dataclass(frozen=True)
class GeneratorLimits:
    """A request is late when it starts more than `late_after` s after its scheduled time.
    A step where the generator dispatched more than `max_late_share` of its requests late
    (it was behind schedule, not waiting for the target) is inconclusive."""

    late_after: float = 0.005
    max_late_share: float = 0.01


@dataclass(frozen=True)
class LoadSpec:
    """`clients` virtual clients, spread over `workers` processes (default one per core),
    offer the `steps` of a rate ladder to `target`, requests from `sources`."""

    target: Target
    sources: tuple[RequestSource, ...]
    steps: tuple[Step, ...]
    clients: int
    workers: int | None = None
    poisson: bool = True
    seed: int | None = None
    request_timeout: float = 5.0
    abort: AbortLimits = field(default_factory=AbortLimits)
    generator: GeneratorLimits = field(default_factory=GeneratorLimits)
    report_interval: float = 0.5
    setup_timeout: float = 120.0

    def __post_init__(self) -> None:
        if not self.steps:
            raise ScheduleError("a load run needs at least one step")
        if self.clients < 1 or (self.workers is not None and self.workers < 1):
            raise ScheduleError("a load run needs at least one client and one worker")
        names = Counter(name for source in self.sources for name in source.names())
        if twice := sorted(n for n, count in names.items() if count > 1):
            raise ScheduleError(f"request types named by two sources: {', '.join(twice)}")
        unknown = sorted({n for s in self.steps for n in s.rates} - set(names))
        if unknown:
            raise ScheduleError(
                f"no source serves {', '.join(unknown)} (known: {', '.join(sorted(names))})"
            )

    @property
    def worker_count(self) -> int:
        return min(self.workers or os.cpu_count() or 1, self.clients)

    def clients_of(self, worker: int) -> tuple[int, int]:
        """(first client index, client count) of a worker: the clients split evenly."""
        per, extra = divmod(self.clients, self.worker_count)
        return worker * per + min(worker, extra), per + (worker < extra)

    @property
    def duration(self) -> float:
        return sum(step.duration for step in self.steps)
