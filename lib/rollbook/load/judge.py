"""A step against its objective: pass, fail, or inconclusive when the generator could not
keep its schedule (never a pass, never a fail of the target), or no data."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from rollbook.load.result import StepResult


class Judgement(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"
    NO_DATA = "no data"


@dataclass(frozen=True)
class Objective:
    """p95 latency (from the scheduled start) at most `p95_seconds`, errors below
    `max_error_ratio`."""

    p95_seconds: float
    max_error_ratio: float = 0.01


@dataclass(frozen=True)
class StepVerdict:
    judgement: Judgement
    p95_seconds: float | None
    error_ratio: float | None
    detail: str


def judge(step: StepResult, objective: Objective, name: str | None = None) -> StepVerdict:
    """Judge request type `name` of `step` (default: all its requests together)."""
    stats = step.total if name is None else step.requests[name]
    p95, errors = stats.latency(95), stats.error_ratio
    if reasons := step.inconclusive:
        return StepVerdict(Judgement.INCONCLUSIVE, p95, errors, "; ".join(reasons))
    if errors is None:
        return StepVerdict(Judgement.NO_DATA, p95, errors, "no request finished")
    failures = []
    if p95 is None or p95 > objective.p95_seconds:
        shown = "none succeeded" if p95 is None else f"{p95 * 1000:.1f} ms"
        failures.append(f"p95 {shown} > {objective.p95_seconds * 1000:g} ms")
    if errors >= objective.max_error_ratio:
        failures.append(f"error ratio {errors:.2%} >= {objective.max_error_ratio:.2%}")
    if failures or p95 is None:  # no p95 is a failure above
        return StepVerdict(Judgement.FAIL, p95, errors, "; ".join(failures))
    return StepVerdict(
        Judgement.PASS,
        p95,
        errors,
        f"p95 {p95 * 1000:.1f} ms <= {objective.p95_seconds * 1000:g} ms, "
        f"error ratio {errors:.2%} < {objective.max_error_ratio:.2%}",
    )
