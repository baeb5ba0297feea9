"""The statistical judge: is canary latency worse than baseline latency?

Latency comes as Prometheus histogram buckets, not raw samples: per variant, the increase
of each cumulative `le` bucket over the window. The test is a one-sided Mann–Whitney U
test on the **bucket index** of every request: all requests in one bucket are ties, so U
uses mid-ranks and the normal approximation with tie correction (scipy's `asymptotic`
method). Expanding to bucket mid-points would give the same ranks, hence the same U and
p-value; the index just needs no invented upper bound for the `+Inf` bucket.

A significant p-value alone is not enough on large samples: the effect size
P(canary slower) + ½ P(tie) = U / (n_canary · n_baseline) must also reach a floor (0.5 is
no difference; 0.56 a small effect, 0.64 a medium one), and the canary's median must be
slower than the baseline's by `min_slowdown` and by `min_slowdown_ratio` of the baseline's
median at least: on fast endpoints a consistent but practically nil difference (a cold
cache's extra round trip of half a millisecond) has a large effect size, and is still not
a reason to roll back. Below `min_samples` requests in either variant the judgement is
*inconclusive*, never a pass.

With `min_slowdown_ratio` r > 0 the p-value is that of the hypothesis "the canary is at
most r slower", not "no slower": the test ranks the canary's histogram with every latency
divided by 1 + r (`Buckets.scaled`), so a canary within the floor is rolled back no more
often than `alpha`, however many requests the window holds. Scaling spreads requests
evenly inside a bucket: it needs buckets much narrower than r (the workload's grow by
under 10 %); on wide ones it errs on either side.

The objectives are on the tail (p95), so a median slowdown that comes with a tail faster
than the baseline's by the same floors (`tail_quantile`) is a trade-off, not a regression:
a cache whose misses pay an extra round trip while its hits cut the tail. The judgement
passes and reports both changes. A real slowdown moves the tail too, so this costs the
judge next to no power (`bench/judge_power.py`).

One judgement is one test at level `alpha`. A ramp judges many overlapping windows, so it
passes each judgement an even share of its budget (`CanaryParams.judge_alpha`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from scipy.stats import mannwhitneyu

from rollbook.canary.params import CanaryWorse


@dataclass(frozen=True)
class Buckets:
    """A latency histogram over a window: upper bounds (ascending, last may be +Inf) and the
    number of requests at or below each bound (cumulative, as Prometheus keeps them)."""

    bounds: tuple[float, ...]
    cumulative: tuple[float, ...]

    @classmethod
    def from_counts(cls, bounds: list[float], counts: list[float]) -> Buckets:
        """From per-bucket (non-cumulative) counts."""
        return cls(tuple(bounds), tuple(np.cumsum(counts).tolist()))

    @classmethod
    def empty(cls) -> Buckets:
        return cls((math.inf,), (0.0,))

    @property
    def counts(self) -> np.ndarray:
        """Requests per bucket, rounded (`increase` extrapolates) and never negative."""
        per_bucket = np.diff(np.asarray(self.cumulative, dtype=float), prepend=0.0)
        return np.clip(np.rint(per_bucket), 0, None).astype(int)

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    def __add__(self, other: Buckets) -> Buckets:
        if not other.total:
            return self
        if not self.total:
            return other
        if self.bounds != other.bounds:
            raise ValueError("cannot add histograms with different bucket bounds")
        summed = np.add(self.cumulative, other.cumulative)
        return Buckets(self.bounds, tuple(summed.tolist()))

    def scaled(self, factor: float) -> Buckets:
        """The histogram of every latency times `factor` on the same bounds, requests spread
        evenly inside their bucket (as `quantile` assumes); the +Inf bucket stays put."""
        finite = np.asarray([b for b in self.bounds if not math.isinf(b)])
        cumulative = np.cumsum(self.counts)
        knots = np.concatenate([[0.0], finite])
        below = np.concatenate([[0.0], cumulative[: finite.size]])
        moved = np.interp(finite / factor, knots, below)
        return Buckets(self.bounds, tuple([*moved.tolist(), *cumulative[finite.size :].tolist()]))

    def quantile(self, q: float) -> float | None:
        """The q-quantile with linear interpolation inside its bucket, like PromQL's
        `histogram_quantile` (the +Inf bucket answers with the highest finite bound)."""
        total = self.total
        if not total:
            return None
        cumulative = np.cumsum(self.counts)
        index = int(np.searchsorted(cumulative, q * total, side="left"))
        upper = self.bounds[index]
        if math.isinf(upper):
            return self.bounds[index - 1] if index else None
        lower = self.bounds[index - 1] if index else 0.0
        below = cumulative[index - 1] if index else 0
        in_bucket = cumulative[index] - below
        return float(lower + (upper - lower) * (q * total - below) / in_bucket)


class Judgement(StrEnum):
    PASS = "pass"
    WORSE = "worse"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class JudgeResult:
    judgement: Judgement
    canary_samples: int
    baseline_samples: int
    p_value: float | None = None
    effect: float | None = None  # P(canary slower) + ½ P(tie)
    baseline_source: str = "live baseline"
    slowdown: float | None = None  # canary median - baseline median, seconds
    alpha: float | None = None  # the level this test was judged at
    tail_change: float | None = None  # canary tail quantile - baseline's, seconds

    @property
    def observed(self) -> dict[str, float | int | str | None]:
        return {
            "p_value": None if self.p_value is None else round(self.p_value, 6),
            "effect": None if self.effect is None else round(self.effect, 4),
            "median_slowdown_seconds": self.slowdown,
            "tail_change_seconds": self.tail_change,
            "alpha": self.alpha,
            "canary_samples": self.canary_samples,
            "baseline_samples": self.baseline_samples,
            "baseline": self.baseline_source,
        }


def judge(
    canary: Buckets,
    baseline: Buckets,
    settings: CanaryWorse,
    *,
    baseline_source: str = "",
    alpha: float | None = None,
) -> JudgeResult:
    """Bucketed one-sided Mann–Whitney U: WORSE only when significant at `alpha` (default
    `settings.alpha`), with a large enough effect and median slowdown."""
    n_canary, n_baseline = canary.total, baseline.total
    source = baseline_source or "live baseline"
    alpha = settings.alpha if alpha is None else alpha
    if min(n_canary, n_baseline) < settings.min_samples:
        return JudgeResult(
            Judgement.INCONCLUSIVE, n_canary, n_baseline, baseline_source=source, alpha=alpha
        )
    if canary.bounds != baseline.bounds:
        raise ValueError("canary and baseline histograms have different bucket bounds")
    baseline_median, canary_median = baseline.quantile(0.5), canary.quantile(0.5)
    if baseline_median is None or canary_median is None:  # only the +Inf bucket: no latency
        return JudgeResult(
            Judgement.INCONCLUSIVE, n_canary, n_baseline, baseline_source=source, alpha=alpha
        )
    ranks = np.arange(len(canary.bounds))
    slower, faster = np.repeat(ranks, canary.counts), np.repeat(ranks, baseline.counts)
    slowdown = canary_median - baseline_median
    if np.unique(np.concatenate([slower, faster])).size == 1:  # every request in one bucket
        return JudgeResult(Judgement.PASS, n_canary, n_baseline, 1.0, 0.5, source, slowdown, alpha)
    test = mannwhitneyu(slower, faster, alternative="greater", method="asymptotic")
    effect = float(test.statistic) / (n_canary * n_baseline)
    if settings.min_slowdown_ratio > 0:  # "slower by more than the floor"
        beyond_floor = canary.scaled(1 / (1 + settings.min_slowdown_ratio))
        test = mannwhitneyu(
            np.repeat(ranks, beyond_floor.counts), faster, alternative="greater",
            method="asymptotic",
        )  # fmt: skip
    tail_change, tail_faster = _tail(canary, baseline, settings)
    worse = (
        test.pvalue < alpha
        and effect >= settings.min_effect
        and _beyond_floors(slowdown, baseline_median, settings)
        and not tail_faster
    )
    return JudgeResult(
        Judgement.WORSE if worse else Judgement.PASS,
        n_canary,
        n_baseline,
        float(test.pvalue),
        effect,
        source,
        slowdown,
        alpha,
        tail_change,
    )


def _beyond_floors(change: float, baseline: float, settings: CanaryWorse) -> bool:
    """A change (seconds) at least `min_slowdown` and `min_slowdown_ratio` of `baseline`."""
    return change >= settings.min_slowdown and change >= settings.min_slowdown_ratio * baseline


def _tail(canary: Buckets, baseline: Buckets, settings: CanaryWorse) -> tuple[float | None, bool]:
    """Canary tail minus baseline tail at `tail_quantile` (None: off or unknown), and
    whether the canary's tail is faster by the floors."""
    quantile = settings.tail_quantile
    if quantile is None:
        return None, False
    baseline_tail, canary_tail = baseline.quantile(quantile), canary.quantile(quantile)
    if baseline_tail is None or canary_tail is None:
        return None, False
    change = canary_tail - baseline_tail
    return change, _beyond_floors(-change, baseline_tail, settings)
