"""Arrival schedules, fixed before the run (open loop): when each request is due, whatever
the target does meanwhile."""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from rollbook.errors import InputError


class ScheduleError(InputError, ValueError):
    """A step of a load schedule is impossible (no rate, a warm-up past its end, ...)."""


@dataclass(frozen=True)
class Step:
    """One rung of a rate ladder: requests/s per request type for `duration` seconds, of
    which the first `warmup` are not judged."""

    rates: Mapping[str, float]
    duration: float
    warmup: float = 0.0

    def __post_init__(self) -> None:
        if self.duration <= 0:
            raise ScheduleError(f"a step lasts more than 0 s (got {self.duration:g})")
        if not 0 <= self.warmup < self.duration:
            raise ScheduleError(
                f"warm-up {self.warmup:g} s must be >= 0 and shorter than the step "
                f"({self.duration:g} s)"
            )
        if any(rate < 0 for rate in self.rates.values()) or not any(self.rates.values()):
            raise ScheduleError(f"rates must be >= 0 and one of them > 0 (got {dict(self.rates)})")

    @property
    def judged_seconds(self) -> float:
        return self.duration - self.warmup


@dataclass(frozen=True, slots=True)
class Arrival:
    """A request due `at` seconds after the start, of type `name`, in step `step`."""

    at: float
    name: str
    step: int
    judged: bool


def step_starts(steps: tuple[Step, ...]) -> list[float]:
    """Each step's start, in seconds after the run's start."""
    return list(itertools.accumulate((s.duration for s in steps[:-1]), initial=0.0))


def arrivals(
    steps: tuple[Step, ...],
    *,
    poisson: bool,
    rng: random.Random,
    share: float = 1.0,
    phase: float = 0.0,
) -> Iterator[Arrival]:
    """Every arrival of the ladder in time order, for a generator that carries `share` of
    each rate (one worker's part). Poisson: exponential gaps (independent streams per
    worker add up to a Poisson stream of the whole rate). Fixed: even gaps, the first
    `phase` of a gap into the step, so workers with phases i/n interleave evenly."""
    for index, (start, step) in enumerate(zip(step_starts(steps), steps, strict=True)):
        streams = [
            _stream(name, rate * share, start, step.duration, poisson, rng, phase)
            for name, rate in step.rates.items()
            if rate > 0
        ]
        judged_from = start + step.warmup
        for at, name in heapq.merge(*streams):
            yield Arrival(at, name, index, at >= judged_from)


def _stream(
    name: str,
    rate: float,
    start: float,
    duration: float,
    poisson: bool,
    rng: random.Random,
    phase: float,
) -> Iterator[tuple[float, str]]:
    end = start + duration
    if poisson:
        at = start + rng.expovariate(rate)
        while at < end:
            yield at, name
            at += rng.expovariate(rate)
        return
    for k in itertools.count():
        at = start + (k + phase) / rate
        if at >= end:
            return
        yield at, name
