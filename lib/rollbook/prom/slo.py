"""SLO checks and before/after comparisons, evaluated exactly (never on downsampled data).

A concept is summarised over a window with one instant query at the window's end
(`Concept.over`): percentiles and ratios over the whole window, gauges by their max/min.
A concept with several series (e.g. per table) counts its worst series. An empty result
is `no data`, never a pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from rollbook.prom.catalog import Concept, concept
from rollbook.prom.client import PromClient, choose_step
from rollbook.prom.params import Slo
from rollbook.prom.window import Window, human_duration, promql_duration
from rollbook.verdict import Check, compare

# The worst series of a concept is the one furthest on the failing side.
WORST = {"<": "max", "<=": "max", ">": "min", ">=": "min"}


def summarise(
    client: PromClient,
    measure: Concept,
    window: Window,
    *,
    worst: str = "max",
    step: str | timedelta = "15s",
) -> float | None:
    """The concept over the window as one number (worst series: `max` or `min`); None if empty."""
    frame = client.instant(measure.over(window.duration, step), at=window.end)
    values = frame["value"].dropna()
    if values.empty:
        return None
    return float(values.max() if worst == "max" else values.min())


def with_data(client: PromClient, window: Window) -> Window:
    """The window from the first scrape Prometheus holds in it (a new server starts late).

    A rate over a window longer than the data underestimates (a lab started 5 minutes ago
    seems to serve a sixth of its traffic over `last 30m`). Unchanged if nothing is stored.
    """
    step = choose_step(window)
    first = client.instant(
        f"min(min_over_time(timestamp(up)[{promql_duration(window.duration)}:"
        f"{promql_duration(step)}]))",
        at=window.end,
    )["value"].dropna()
    # the subquery's grid starts up to one step after the window: that is not missing data
    if first.empty or first.iloc[0] <= (window.start + step).timestamp():
        return window
    return Window(datetime.fromtimestamp(first.iloc[0], UTC), window.end)


def check_slo(
    client: PromClient, slo: Slo, window: Window, overrides: dict[str, str] | None = None
) -> Check:
    """One SLO over a window as a verdict check."""
    measure = concept(slo.concept, overrides)
    observed = summarise(client, measure, window, worst=WORST[slo.op])
    return compare(
        f"{measure.title} ({measure.summary} over {human_duration(window.duration)})",
        observed,
        slo.op,
        slo.threshold,
        unit=measure.unit,
        required=slo.required,
        detail=f"{slo.concept} over {window}",
    )


def slo_score_promql(slos: list[Slo], range_: str = "1m") -> str:
    """PromQL for the share of SLOs met right now (1 = all met; no data counts as not met)."""
    met = [
        f"(({concept(s.concept).query(range_)}) {s.op} bool {s.threshold!r} or vector(0))"
        for s in slos
    ]
    return f"({' + '.join(met)}) / {len(met)}"


def check_slos(
    client: PromClient, slos: list[Slo], window: Window, overrides: dict[str, str] | None = None
) -> list[Check]:
    return [check_slo(client, slo, window, overrides) for slo in slos]


@dataclass(frozen=True)
class Comparison:
    """A concept in two windows: absolute change and ratio (after / before)."""

    concept: str
    before: float | None
    after: float | None

    @property
    def change(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before

    @property
    def ratio(self) -> float | None:
        if self.before is None or self.after is None or self.before == 0:
            return None
        return self.after / self.before


def compare_windows(
    client: PromClient,
    name: str,
    before: Window,
    after: Window,
    overrides: dict[str, str] | None = None,
) -> Comparison:
    """Summarise one concept in a `before` and an `after` window."""
    measure = concept(name, overrides)
    return Comparison(name, summarise(client, measure, before), summarise(client, measure, after))


def comparison_check(
    comparison: Comparison, op: str, limit: float, *, on: str = "ratio", required: bool = True
) -> Check:
    """A check on the ratio (`on="ratio"`) or absolute change (`on="change"`) of a comparison."""
    if on not in ("ratio", "change"):
        raise ValueError(f"compare on 'ratio' or 'change', not {on!r}")
    measure = concept(comparison.concept)
    return compare(
        f"{measure.title}: after/before {on}",
        getattr(comparison, on),
        op,
        limit,
        unit="" if on == "ratio" else measure.unit,
        required=required,
        detail=f"before {comparison.before}, after {comparison.after}",
    )
