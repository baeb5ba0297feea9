"""The five rollback triggers, evaluated on one `Snapshot`, and the recovery checks that
verify a rollback. Each result names the trigger and carries its observed values."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from rollbook.canary.judge import Buckets, Judgement, judge
from rollbook.canary.metrics import Snapshot
from rollbook.canary.params import Triggers


class Signal(StrEnum):
    OK = "ok"
    FIRED = "fired"
    NO_DATA = "no data"  # nothing to judge (no traffic, too few samples, metric missing)


Observed = dict[str, float | int | str | None]


@dataclass(frozen=True)
class TriggerResult:
    name: str
    signal: Signal
    observed: Observed = field(default_factory=dict)
    threshold: str = ""

    @property
    def fired(self) -> bool:
        return self.signal is Signal.FIRED

    def summary(self) -> str:
        values = ", ".join(f"{k}={_fmt(v)}" for k, v in self.observed.items())
        return f"{self.name} {self.signal.value} ({values}; {self.threshold})"


def _fmt(value: float | int | str | None) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _limit(
    name: str, observed: Observed, breaches: list[bool | None], threshold: str
) -> TriggerResult:
    """FIRED if any breach, else NO_DATA if any value is missing, else OK."""
    if any(breaches):
        signal = Signal.FIRED
    elif None in breaches:
        signal = Signal.NO_DATA
    else:
        signal = Signal.OK
    return TriggerResult(name, signal, observed, threshold)


def _above(value: float | None, limit: float) -> bool | None:
    return None if value is None else value > limit


@dataclass(frozen=True)
class TriggerSet:
    """The triggers of one ramp with their thresholds.

    `reference` is the endpoint's latency before the ramp: the judge's baseline at a 100 %
    step (no live baseline left) and the yardstick of recovery. At a partial step the judge
    compares only with live baseline traffic of the same window: too little of it is no data,
    never the reference, which drift since the ramp began (load, other work on the machine)
    confounds with the flag. `full_step` says which step the set judges.
    `judge_alpha` is the level of each of the ramp's judgements (its share of the ramp's
    false-rollback budget); recovery checks use the whole budget."""

    names: list[str]
    settings: Triggers
    slo_seconds: float
    reference: Buckets
    cache_ramp: bool = False
    judge_alpha: float | None = None
    full_step: bool = False

    def evaluate(self, snap: Snapshot, names: list[str] | None = None) -> list[TriggerResult]:
        """Every trigger (or those `names`) on canary traffic (latency_slo reports a breach,
        the controller counts consecutive ones)."""
        return [getattr(self, f"_{name}")(snap, "canary") for name in names or self.names]

    def recovery(self, snap: Snapshot, names: list[str]) -> list[TriggerResult]:
        """After a rollback: the same signals on all traffic; FIRED means not recovered."""
        return [getattr(self, f"_{name}")(snap, None) for name in names]

    def _latency_slo(self, snap: Snapshot, variant: str | None) -> TriggerResult:
        p95 = snap.p95_seconds(variant)
        key = f"{variant or 'endpoint'}_p95_seconds"
        return _limit(
            "latency_slo",
            {key: p95, "requests": snap.latency(variant).total},
            [_above(p95, self.slo_seconds)],
            f"p95 <= {self.slo_seconds:g} s",
        )

    def _error_rate(self, snap: Snapshot, variant: str | None) -> TriggerResult:
        limit = self.settings.error_rate.max_ratio
        ratio = snap.error_ratio(variant)
        observed: Observed = {f"{variant or 'endpoint'}_error_ratio": ratio}
        breaches = [_above(ratio, limit)]
        if self.cache_ramp:
            # The canary's lookups must be seen: missing is no data. After a rollback to 0 %
            # there are none to see, and the endpoint's own errors decide.
            cache = snap.cache_error_ratio
            observed["cache_error_ratio"] = cache
            if variant is not None or cache is not None:
                breaches.append(_above(cache, limit))
        observed["requests"] = snap.request_count(variant)
        return _limit("error_rate", observed, breaches, f"error ratio <= {limit:g}")

    def _canary_worse(self, snap: Snapshot, variant: str | None) -> TriggerResult:
        settings = self.settings.canary_worse
        if variant is None:  # recovery: all traffic against the pre-ramp reference
            subject, baseline, source = snap.latency(), self.reference, "pre-ramp reference"
        else:
            subject, baseline, source = snap.latency(variant), snap.latency("baseline"), "live"
            if self.full_step:
                baseline, source = self.reference, "pre-ramp reference"
        alpha = None if variant is None else self.judge_alpha
        result = judge(subject, baseline, settings, baseline_source=source, alpha=alpha)
        signal = {
            Judgement.WORSE: Signal.FIRED,
            Judgement.PASS: Signal.OK,
            Judgement.INCONCLUSIVE: Signal.NO_DATA,
        }[result.judgement]
        observed = {
            **result.observed,
            "canary_p95_seconds": subject.quantile(0.95),
            "baseline_p95_seconds": baseline.quantile(0.95),
        }
        budget = "" if alpha is None else f" (the ramp's {settings.alpha:g} shared by its checks)"
        threshold = (
            f"worse if p < {result.alpha:.3g}{budget}, effect >= {settings.min_effect:g} and "
            f"median slowdown >= {settings.min_slowdown:g} s and >= "
            f"{settings.min_slowdown_ratio:.0%} of the baseline's; >= {settings.min_samples} "
            "samples each"
        )
        return TriggerResult("canary_worse", signal, observed, threshold)

    def _pool_saturation(self, snap: Snapshot, variant: str | None) -> TriggerResult:
        s = self.settings.pool_saturation
        return _limit(
            "pool_saturation",
            {
                "pool_saturation_ratio": snap.pool_saturation_ratio,
                "clients_waiting": snap.clients_waiting,
            },
            [
                _above(snap.pool_saturation_ratio, s.max_ratio),
                _above(snap.clients_waiting, s.max_clients_waiting),
            ],
            f"saturation <= {s.max_ratio:g}, clients waiting <= {s.max_clients_waiting:g}",
        )

    def _replica_lag(self, snap: Snapshot, variant: str | None) -> TriggerResult:
        s = self.settings.replica_lag
        breaker = snap.breaker_state
        return _limit(
            "replica_lag",
            {"replica_lag_seconds": snap.replica_lag_seconds, "breaker_state": breaker},
            [
                _above(snap.replica_lag_seconds, s.max_seconds),
                None if breaker is None else breaker >= s.breaker_open_state,
            ],
            f"lag <= {s.max_seconds:g} s, breaker not open",
        )
