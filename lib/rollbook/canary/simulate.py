"""Synthetic ramps: the real controller and judge on a simulated clock, fed lognormal
latency bucketed the way a Prometheus histogram buckets it (`le` is an inclusive upper
bound). The judge's power bench (`bench/judge_power.py`) and its tests use it.

    traffic = Traffic(median_seconds=0.005, slowdown=1.5)
    result = simulate_ramp(params.canary, traffic, LATENCY_BUCKETS, seed=1)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rollbook.canary.controller import Ramp, RampController
from rollbook.canary.judge import Buckets
from rollbook.canary.metrics import Snapshot
from rollbook.canary.params import CanaryParams
from rollbook.canary.result import RampResult
from rollbook.canary.state import RampState

VARIANTS = ("canary", "baseline")


@dataclass(frozen=True)
class Traffic:
    """One endpoint's requests: lognormal latency, the canary's median `slowdown` times the
    baseline's; for `cold_seconds` after each step the canary is `cold_factor` slower still."""

    median_seconds: float
    slowdown: float = 1.0
    sigma: float = 0.5
    rate: float = 12.0  # requests per second, both variants
    cold_seconds: float = 0.0
    cold_factor: float = 1.0


class SimClock:
    def __init__(self, start: float = 1_000_000.0) -> None:
        self.t = start

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


class SimFlags:
    """One flag's value over simulated time."""

    def __init__(self, clock: SimClock, value: float = 0.0) -> None:
        self.clock = clock
        self.changes: list[tuple[float, float]] = [(-math.inf, value)]

    def get(self, name: str) -> float:
        return self.changes[-1][1]

    def set(
        self, name: str, value: float, run_id: str | None = None, by: str | None = None
    ) -> float:
        self.changes.append((self.clock.now(), float(value)))
        return value

    def at(self, t: float) -> tuple[float, float]:
        """The value in effect at `t` and when it was set."""
        since, value = next((s, v) for s, v in reversed(self.changes) if s <= t)
        return value, since


class SimStates:
    """No earlier ramp; the ramp's own rows are not kept."""

    def claim(self, flag: str) -> None: ...
    def release(self) -> None: ...
    def unfinished(self, flag: str) -> RampState | None: ...
    def begin(self, state: RampState) -> None: ...
    def update(
        self, run_id: str, status: str, step_index: int | None = None, trigger: str | None = None
    ) -> None: ...


class SyntheticSource:
    """Requests second by second (Poisson arrivals, each variant by the flag's share),
    bucketed as they arrive; a snapshot sums the whole seconds of its window."""

    def __init__(
        self,
        traffic: Traffic,
        bounds: Sequence[float],
        clock: SimClock,
        flags: SimFlags,
        rng: np.random.Generator,
    ) -> None:
        self.traffic, self.clock, self.flags, self.rng = traffic, clock, flags, rng
        self.bounds = [*bounds, math.inf]
        self.start = math.floor(clock.now())
        self.seconds: list[dict[str, np.ndarray]] = []

    def _generate_until(self, now: float) -> None:
        t = self.traffic
        while self.start + len(self.seconds) < math.floor(now):
            second = self.start + len(self.seconds)
            share, since = self.flags.at(second)
            counts = {}
            for variant, part in zip(VARIANTS, (share / 100, 1 - share / 100), strict=True):
                median = t.median_seconds
                if variant == "canary":
                    cold = since + t.cold_seconds > second
                    median *= t.slowdown * (t.cold_factor if cold else 1.0)
                n = self.rng.poisson(t.rate * part)
                latency = self.rng.lognormal(math.log(median), t.sigma, n)
                index = np.searchsorted(self.bounds, latency, side="left")
                counts[variant] = np.bincount(index, minlength=len(self.bounds))
            self.seconds.append(counts)

    def snapshot(self, endpoint: str, window_seconds: float) -> Snapshot:
        now = self.clock.now()
        self._generate_until(now)
        covered = self.seconds[-max(1, round(window_seconds)) :]
        none = np.zeros(len(self.bounds), dtype=int)  # the sum of no seconds
        buckets = {
            v: Buckets.from_counts(self.bounds, sum((s[v] for s in covered), none).tolist())
            for v in VARIANTS
        }
        return Snapshot(
            window_seconds=window_seconds,
            buckets=buckets,
            requests={(v, "ok"): float(b.total) for v, b in buckets.items()},
            cache_lookups=float(buckets["canary"].total),
        )


def simulate_ramp(
    settings: CanaryParams,
    traffic: Traffic,
    bounds: Sequence[float],
    seed: int,
    *,
    triggers: tuple[str, ...] = ("canary_worse",),
    flag: str = "cache.history",
) -> RampResult:
    """One ramp of `flag` through the real controller, after `reference_window` seconds of
    traffic at 0 %."""
    clock = SimClock()
    flags = SimFlags(clock)
    source = SyntheticSource(traffic, bounds, clock, flags, np.random.default_rng(seed))
    clock.sleep(settings.reference_window + 1)
    ramp = Ramp(flag, flag.partition(".")[2], settings, math.inf, tuple(settings.steps), triggers)
    controller = RampController(
        ramp, flags=flags, states=SimStates(), source=source, run_id=f"sim-{seed}", clock=clock
    )
    return controller.run()
