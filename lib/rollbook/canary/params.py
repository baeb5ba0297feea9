"""The `canary:` params section: ramp shape, check cadence, trigger thresholds.

```yaml
canary:
  steps: [10, 25, 50, 100]     # percent of traffic on the new path, in order
  hold: 5m                     # judged time per step (after the warm-up)
  check_interval: 30s          # one health check every ...
  warmup: 30s                  # after a step change: cold caches and buffers, not judged
  judge_warmup: false          # true: a cold path that is slow for `warmup` is a regression
  check_window: 1m             # metrics window of one health check
  on_interrupted: rollback     # a ramp killed mid-way: rollback | resume
  triggers:
    error_rate: {max_ratio: 0.01}
    canary_worse: {alpha: 0.01, min_effect: 0.56, min_samples: 50, min_slowdown: 2ms}
                               # alpha: false-rollback budget of a whole ramp
  triggers_by_flag:            # which triggers apply; keys: a flag or its family
    replica: [latency_slo, error_rate, canary_worse, replica_lag]
```
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Annotated, Any, Literal, get_args

from pydantic import BeforeValidator, Field, field_validator, model_validator

from rollbook.config.base import Strict
from rollbook.duration import parse_duration

TriggerName = Literal["latency_slo", "error_rate", "canary_worse", "pool_saturation", "replica_lag"]
TRIGGER_NAMES: tuple[str, ...] = get_args(TriggerName)


def _seconds(value: Any) -> Any:
    """`30s`, `5m`, a number of seconds or a timedelta -> float seconds."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str | timedelta):
        return parse_duration(value).total_seconds()
    return value


Seconds = Annotated[float, BeforeValidator(_seconds), Field(gt=0)]


class LatencySlo(Strict):
    """Canary p95 latency above the SLO for `consecutive` checks."""

    p95_seconds: float | None = Field(
        default=None, gt=0, description="default: the endpoint's p95 SLO in `monitoring.slo`"
    )
    consecutive: int = Field(default=2, ge=1)


class ErrorRate(Strict):
    """Canary requests (and, for cache ramps, cache lookups) failing above a ratio."""

    max_ratio: float = Field(default=0.01, ge=0, le=1)


class CanaryWorse(Strict):
    """Bucketed Mann–Whitney U test, canary latency > baseline latency (see judge.py)."""

    alpha: float = Field(
        default=0.01,
        gt=0,
        lt=1,
        description="false-rollback budget of one ramp: the chance that the judge rolls back "
        "a canary no slower than its baseline; each judgement of the ramp is tested at an even "
        "share of it (Bonferroni, `CanaryParams.judge_alpha`), a single judgement at all of it",
    )
    min_effect: float = Field(
        default=0.56,
        gt=0.5,
        lt=1,
        description="floor on P(canary slower than baseline); 0.56 is a small effect",
    )
    min_samples: int = Field(default=50, ge=5, description="per variant; fewer is inconclusive")
    min_slowdown: Seconds = Field(
        default=0.002,
        description="floor on canary median minus baseline median: a smaller slowdown "
        "(e.g. a cold cache's extra round trip) is not worth a rollback",
    )
    min_slowdown_ratio: float = Field(
        default=0.0,
        ge=0,
        description="floor on the median slowdown relative to the baseline's median "
        "(0.25: at least 25 % slower), so one floor serves fast and slow endpoints",
    )
    tail_quantile: float | None = Field(
        default=0.95,
        gt=0.5,
        lt=1,
        description="a canary whose median is slower but whose tail at this quantile is faster "
        "than the baseline's, by the same floors, is a trade-off, not a regression (a cache "
        "whose misses add a round trip and whose hits cut the tail): the judge reports it and "
        "passes; null judges the median alone",
    )


class PoolSaturation(Strict):
    """PgBouncer server connections in use over the pool size, and clients queueing."""

    max_ratio: float = Field(default=0.9, gt=0)
    max_clients_waiting: float = Field(default=0, ge=0)


class ReplicaLag(Strict):
    """Replica replay lag above a bound, or the application's replica breaker open."""

    max_seconds: float = Field(default=5.0, gt=0)
    breaker_open_state: int = Field(default=2, description="breaker gauge value meaning open")


class Triggers(Strict):
    latency_slo: LatencySlo = Field(default_factory=LatencySlo)
    error_rate: ErrorRate = Field(default_factory=ErrorRate)
    canary_worse: CanaryWorse = Field(default_factory=CanaryWorse)
    pool_saturation: PoolSaturation = Field(default_factory=PoolSaturation)
    replica_lag: ReplicaLag = Field(default_factory=ReplicaLag)


_COMMON: list[TriggerName] = ["latency_slo", "error_rate", "canary_worse"]
DEFAULT_TRIGGERS_BY_FLAG: dict[str, list[TriggerName]] = {
    "pgbouncer": [*_COMMON, "pool_saturation"],
    "cache": list(_COMMON),
    "replica": [*_COMMON, "replica_lag"],
}


class CanaryParams(Strict):
    """How a flag is ramped and judged."""

    steps: list[float] = Field(default_factory=lambda: [10.0, 25.0, 50.0, 100.0], min_length=1)
    hold: Seconds = Field(default=300.0, description="judged time per step, after the warm-up")
    check_interval: Seconds = 30.0
    warmup: Seconds = Field(
        default=30.0,
        description="after each step change: no check runs, and (unless `judge_warmup`) no "
        "later check sees its requests, which meet cold caches and buffers",
    )
    judge_warmup: bool = Field(
        default=False,
        description="judge the warm-up's requests too: a cold path that is slow for its "
        "first seconds then counts as a regression",
    )
    check_window: Seconds = Field(default=60.0, description="metrics window of one check")
    reference_window: Seconds = Field(
        default=300.0,
        description="pre-ramp latency reference (rollback verification; the 100 % step with "
        "`full_step_judge: reference`)",
    )
    full_step_judge: Literal["absolute", "reference"] = Field(
        default="absolute",
        description="at 100 % no request is left to be a live baseline: `absolute` leaves "
        "that step to the triggers with fixed limits (SLO, errors, lag, pool), canary_worse "
        "having judged every earlier step against live traffic; `reference` compares it with "
        "the pre-ramp reference, which any drift since (load, other work on the machine) "
        "confounds. A ramp whose only step is 100 % always uses the reference",
    )
    max_extend: Seconds = Field(
        default=300.0, description="extra time a step may wait for a conclusive judgement"
    )
    verify_within: Seconds = Field(
        default=300.0, description="bound for the metrics to recover after a rollback"
    )
    on_interrupted: Literal["rollback", "resume"] = "rollback"
    triggers: Triggers = Field(default_factory=Triggers)
    triggers_by_flag: dict[str, list[TriggerName]] = Field(
        default_factory=dict,
        description="flag or family -> triggers, over the defaults (pgbouncer, cache, replica)",
        validate_default=True,
    )

    canary_worse_by_flag: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="flag or family -> canary_worse settings over `triggers.canary_worse` (a "
        "flag's own entry over its family's): the cost a path may add by design and the ramp "
        "accepts, e.g. a cache miss's round trips; every judgement states the floors it used",
    )

    @field_validator("steps")
    @classmethod
    def _increasing_percentages(cls, steps: list[float]) -> list[float]:
        if any(not 0 < s <= 100 for s in steps):
            raise ValueError(f"steps are percentages in (0, 100], got {steps}")
        if any(b <= a for a, b in zip(steps, steps[1:], strict=False)):
            raise ValueError(f"steps must increase, got {steps}")
        return steps

    @field_validator("triggers_by_flag")
    @classmethod
    def _over_the_defaults(cls, given: dict[str, list[str]]) -> dict[str, list[str]]:
        """Entries given in params replace the defaults of the same key only."""
        return {**{k: list(v) for k, v in DEFAULT_TRIGGERS_BY_FLAG.items()}, **given}

    @model_validator(mode="after")
    def _judge_overrides_valid(self) -> CanaryParams:
        for key in self.canary_worse_by_flag:
            try:
                self.canary_worse_for(key)
            except ValueError as exc:
                raise ValueError(f"canary_worse_by_flag.{key}: {exc}") from None
        return self

    @model_validator(mode="after")
    def _window_covers_interval(self) -> CanaryParams:
        if self.check_window < self.check_interval:
            raise ValueError(
                f"check_window ({self.check_window:g}s) must cover check_interval "
                f"({self.check_interval:g}s), or samples between checks go unseen"
            )
        return self

    def judgements_per_step(self) -> int:
        """The most judgements one step can make. Checks come at least `check_interval`
        apart, the first after the warm-up, the last once the judged time reaches
        `hold + max_extend`; from `hold` on a gate judges the whole step, anew once the
        step has outgrown the check's window (before that the check is the gate)."""
        span = self.hold + self.max_extend
        checks = math.ceil(span / self.check_interval) + 1
        outgrown = max(self.hold, self.check_window - (self.warmup if self.judge_warmup else 0))
        gates = math.ceil(max(0.0, span - outgrown) / self.check_interval) + 1
        return checks + gates

    @property
    def judge_alpha(self) -> float:
        """The level of each judgement of a ramp: the ramp's budget over its judgements, so
        P(a healthy ramp is rolled back by the judge) <= `canary_worse.alpha` (union bound;
        it holds for overlapping windows too)."""
        return self.triggers.canary_worse.alpha / (len(self.steps) * self.judgements_per_step())

    def canary_worse_for(self, flag: str) -> CanaryWorse:
        """The judge's settings for a flag: `triggers.canary_worse`, then its family's entry
        in `canary_worse_by_flag`, then its own."""
        family = flag.split(".", 1)[0]
        by_flag = self.canary_worse_by_flag
        over = {**by_flag.get(family, {}), **(by_flag.get(flag, {}) if flag != family else {})}
        return CanaryWorse.model_validate({**self.triggers.canary_worse.model_dump(), **over})

    def for_flag(self, flag: str) -> CanaryParams:
        """These settings with the judge's as they apply to `flag`."""
        triggers = self.triggers.model_copy(update={"canary_worse": self.canary_worse_for(flag)})
        return self.model_copy(update={"triggers": triggers})

    def triggers_for(self, flag: str) -> list[str]:
        """Triggers applying to a flag: its own entry, else its family's (`cache.history`
        -> `cache`), else latency, errors and the judge."""
        family = flag.split(".", 1)[0]
        chosen = self.triggers_by_flag.get(flag, self.triggers_by_flag.get(family, _COMMON))
        return list(chosen)
