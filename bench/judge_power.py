"""How often the canary judge rolls a ramp back: healthy pairs and sub-floor slowdowns
(false rollbacks) and a +50 % slowdown (power), each over simulated ramps through the real
controller and judge at the lab's check cadence (`canary:` of params/lab.yaml), latency
bucketed as the workload buckets it (LATENCY_BUCKETS, `le` inclusive).

    PYTHONPATH=lib python bench/judge_power.py [--ramps 200] [--params params/lab.yaml]

Prints each case's rollback rate, the per-ramp false-rollback bound, and what the bucket
layout costs (series per workload, judge time per check); exits 1 when a rate is out of
bounds: healthy and sub-floor at most 1 of 200 ramps, +50 % at least 95 %.
"""

from __future__ import annotations

import argparse
import math
import sys
import timeit
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from prometheus_client import CollectorRegistry

from rollbook.canary.judge import Buckets, judge
from rollbook.canary.params import CanaryParams
from rollbook.canary.result import Outcome
from rollbook.canary.simulate import Traffic, simulate_ramp
from rollbook.lab.workload.metrics import COARSE_BUCKETS, LATENCY_BUCKETS, WorkloadMetrics

REPO = Path(__file__).resolve().parents[1]
MAX_FALSE_ROLLBACKS = 1 / 200
MIN_POWER = 0.95
SAMPLES_PER_WINDOW = 60  # per variant in the first step's gate window
SIGMA = 0.5  # lognormal shape: p95 / median = 2.3


@dataclass(frozen=True)
class Case:
    name: str
    traffic: Traffic
    healthy: bool  # True: a rollback is a false one


def cases(settings: CanaryParams) -> list[Case]:
    """Medians 2-20 ms; the rate gives `SAMPLES_PER_WINDOW` requests of the less loaded
    variant in the first step's gate window (its `hold` after the warm-up, the window that
    decides a step; the checks before it see less)."""
    share = min(settings.steps[0], 100 - settings.steps[0]) / 100 or 1.0
    rate = SAMPLES_PER_WINDOW / (min(settings.hold, settings.check_window) * share)
    out = []
    for ms in (2, 5, 10, 20):
        out.append(Case(f"healthy, median {ms} ms", Traffic(ms / 1000, 1.0, SIGMA, rate), True))
    out.append(Case("+15 % on 5 ms (sub-floor)", Traffic(0.005, 1.15, SIGMA, rate), True))
    for ms in (2, 5, 10, 20):
        out.append(Case(f"+50 % on {ms} ms", Traffic(ms / 1000, 1.5, SIGMA, rate), False))
    return out


def rollbacks(settings: CanaryParams, traffic: Traffic, ramps: int) -> int:
    outcomes = [
        simulate_ramp(settings, traffic, LATENCY_BUCKETS, seed).outcome for seed in range(ramps)
    ]
    return outcomes.count(Outcome.ROLLED_BACK)


def series_per_workload(buckets: tuple[float, ...]) -> int:
    """chat_request_duration_seconds series of one workload with these bounds."""
    metrics = WorkloadMetrics(CollectorRegistry())
    combinations = len(metrics.request_duration._metrics)
    return combinations * (len(buckets) + 3)  # bounds, +Inf, _sum, _count


def judge_seconds(settings: CanaryParams) -> float:
    """One judgement at the lab's sizes: a window of canary requests vs a reference."""
    rng = np.random.default_rng(0)
    bounds = [*LATENCY_BUCKETS, math.inf]

    def histogram(n: int) -> Buckets:
        index = np.searchsorted(bounds, rng.lognormal(math.log(0.005), SIGMA, n), side="left")
        return Buckets.from_counts(bounds, np.bincount(index, minlength=len(bounds)).tolist())

    canary, baseline = histogram(120), histogram(720)
    worse = settings.triggers.canary_worse
    runs = 200
    return timeit.timeit(lambda: judge(canary, baseline, worse), number=runs) / runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ramps", type=int, default=200)
    parser.add_argument("--params", type=Path, default=REPO / "params" / "lab.yaml")
    args = parser.parse_args()
    settings = CanaryParams.model_validate(yaml.safe_load(args.params.read_text())["canary"])
    worse = settings.triggers.canary_worse
    print(
        f"cadence ({args.params.name}): steps {settings.steps}, warm-up {settings.warmup:g} s, "
        f"checks every {settings.check_interval:g} s over <= {settings.check_window:g} s, "
        f"hold {settings.hold:g} s (+{settings.max_extend:g} s), reference "
        f"{settings.reference_window:g} s"
    )
    judgements = len(settings.steps) * settings.judgements_per_step()
    print(
        f"per-ramp false-rollback bound (healthy pair): alpha {worse.alpha:g} = {judgements} "
        f"judgements x {settings.judge_alpha:.3g} each (Bonferroni); floors: effect >= "
        f"{worse.min_effect:g}, median slowdown >= {worse.min_slowdown * 1000:g} ms and >= "
        f"{worse.min_slowdown_ratio:.0%}; spared when the p{(worse.tail_quantile or 0) * 100:g} "
        "is faster by the same floors (a trade-off)"
    )
    print(
        f"samples: lognormal sigma {SIGMA}, {SAMPLES_PER_WINDOW} per variant in the first "
        f"step's gate window; {len(LATENCY_BUCKETS)} bucket bounds"
    )
    failed = False
    for case in cases(settings):
        count = rollbacks(settings, case.traffic, args.ramps)
        rate = count / args.ramps
        ok = rate <= MAX_FALSE_ROLLBACKS if case.healthy else rate >= MIN_POWER
        failed |= not ok
        bound = f"<= {MAX_FALSE_ROLLBACKS:.3f}" if case.healthy else f">= {MIN_POWER:.2f}"
        print(
            f"  {case.name:<28} rolled back {count:3d} of {args.ramps} ramps = {rate:.3f} "
            f"(want {bound}) {'ok' if ok else 'OUT OF BOUNDS'}"
        )
    fine, coarse = series_per_workload(LATENCY_BUCKETS), series_per_workload(COARSE_BUCKETS)
    print(
        f"cost: {fine} request-latency series per workload ({coarse} with the coarse "
        f"layout, x{fine / coarse:.1f}); one judgement (120 vs 720 requests) "
        f"{judge_seconds(settings) * 1000:.2f} ms"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
