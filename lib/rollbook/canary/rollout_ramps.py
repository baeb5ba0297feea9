"""What Phases 2-4 share: ramp their flags one after the other with the canary controller,
then read what the ramps did to the system from Prometheus (series, window summaries).

A dry run builds each controller in dry-run mode: it plans the steps and touches no flag.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from rollbook.canary.controller import Progress
from rollbook.canary.progress import RampProgress
from rollbook.canary.ramp import RampParams, controller_for
from rollbook.canary.result import Outcome, RampResult
from rollbook.db import session
from rollbook.flags import FlagStore
from rollbook.prom.catalog import concept
from rollbook.prom.charts import timeseries
from rollbook.prom.client import PromClient, PrometheusError
from rollbook.prom.events import flag_events, markers
from rollbook.prom.slo import summarise
from rollbook.prom.window import Window
from rollbook.run_context import RunContext
from rollbook.step import StepResult
from rollbook.verdict import Check, compare, expect

# A chart's window starts this long before the first ramp (the "before" of the picture).
LEAD_IN = timedelta(minutes=2)
MIN_WINDOW = timedelta(seconds=30)


@dataclass
class Ramps:
    """The ramps of one phase, in order; the run stops at the first one not promoted."""

    flags: tuple[str, ...]
    results: list[RampResult] = field(default_factory=list)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None

    @property
    def dry_run(self) -> bool:
        return any(r.outcome is Outcome.DRY_RUN for r in self.results)

    @property
    def promoted(self) -> bool:
        """Every flag of the phase reached its last step."""
        done = [r for r in self.results if r.outcome is Outcome.PROMOTED]
        return len(done) == len(self.flags)

    @property
    def window(self) -> Window:
        """From the first ramp's start until it finished (or now), at least `MIN_WINDOW`
        long (a dry run takes milliseconds)."""
        end = self.finished_at or datetime.now(UTC)
        return Window(min(self.started_at, end - MIN_WINDOW), end)

    def settled(self, seconds: float) -> Window:
        """The last `seconds` of the ramps: every flag at its final value."""
        end = self.finished_at or datetime.now(UTC)
        return Window(end - timedelta(seconds=seconds), end)

    def checks(self) -> list[Check]:
        """Each ramp's verdict checks; a flag never ramped (an earlier one failed) fails."""
        checks = [c for r in self.results for c in r.checks()]
        ramped = {r.flag for r in self.results}
        for flag in self.flags:
            if flag not in ramped:
                checks.append(expect(f"ramp {flag}", False, detail="not ramped: a ramp failed"))
        return checks

    def table(self) -> pd.DataFrame:
        """One row per flag: outcome, value before and after, why."""
        rows = [
            {
                "flag": r.flag,
                "steps": " → ".join(f"{s:g}" for s in r.steps),
                "outcome": r.outcome.value,
                "before": r.previous_value,
                "after": r.step_value,
                "reason": r.reason,
            }
            for r in self.results
        ]
        rows += [{"flag": f, "outcome": "not ramped"} for f in self.flags[len(self.results) :]]
        return pd.DataFrame(rows, columns=["flag", "steps", "outcome", "before", "after", "reason"])

    def timeline(self) -> pd.DataFrame:
        """Every controller event of every ramp, in order."""
        frames = [r.timeline().assign(flag=r.flag) for r in self.results]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def summary(self) -> StepResult:
        """The ramps as a step's result: one row per ramp, their checks, and the record
        results.json keeps under `ramps`."""
        return StepResult(self.table(), self.checks(), data={"ramps": self.record()})

    def record(self) -> dict[str, Any]:
        """JSON-ready summary for results.json."""
        return {
            "dry_run": self.dry_run,
            "promoted": self.promoted,
            "window": [self.window.start.isoformat(), self.window.end.isoformat()],
            "ramps": self.table()
            .astype(object)
            .where(self.table().notna(), None)
            .to_dict("records"),
        }


def flag_values(params: RampParams, flags: tuple[str, ...]) -> pd.DataFrame:
    """The value each flag has now (stored, else its default)."""
    with session(params.primary, params.safety, purpose="flags", read_only=True) as conn:
        store = FlagStore(conn)
        return pd.DataFrame([{"flag": f, "value": store.get(f)} for f in flags])


def run_ramps(
    params: RampParams,
    flags: tuple[str, ...],
    context: RunContext,
    *,
    progress: Progress | None = None,
) -> Ramps:
    """Ramp each flag in order (dry run unless `safety.apply`); stop at the first ramp that
    is not promoted: its controller has already rolled it back (or paused it). Flag changes
    are audited under the run's id (its archived run); progress is a live panel or log
    lines, as the run context says, and each ramp step is reported to the runner."""
    if progress is None:
        progress = RampProgress(live=not context.headless, report=context.report)
    ramps = Ramps(flags)
    with session(params.primary, params.safety, purpose="ramp") as conn:
        FlagStore(conn).ensure_schema()
        for flag in flags:
            controller = controller_for(
                params, flag, conn, archive_run_id=context.run_id, progress=progress
            )
            result = controller.run()
            ramps.results.append(result)
            if result.outcome not in (Outcome.PROMOTED, Outcome.DRY_RUN):
                break
    ramps.finished_at = datetime.now(UTC)
    return ramps


def charts(ramps: Ramps) -> list[go.Figure]:
    """Each ramp's timeline: the flag's value, every health check, a rollback if any."""
    return [r.chart() for r in ramps.results]


def series(
    params: RampParams, names: list[str], ramps: Ramps, *, lead_in: timedelta = LEAD_IN
) -> list[go.Figure]:
    """Prometheus series of `names` from before the ramps until now, flag changes marked.
    A concept that cannot be fetched gets an empty chart saying no data."""
    window = Window(ramps.started_at - lead_in, datetime.now(UTC))
    with session(params.primary, params.safety, purpose="flags", read_only=True) as conn:
        events = markers(flag_events(conn, window))
    client = PromClient.from_params(params)
    figures = []
    for name in names:
        measure = concept(name, params.monitoring.queries)
        try:
            frame = client.range(measure.query("30s"), window)
        except PrometheusError:
            frame = pd.DataFrame(columns=["timestamp", "value"])
        slos = [s for s in params.monitoring.slo if s.concept == name]
        figures.append(timeseries(frame, measure, slos=slos, events=events))
    return figures


@dataclass(frozen=True)
class Observed:
    """A concept summarised over a window, with the bound the phase holds it to."""

    name: str
    op: str
    threshold: float
    required: bool = True
    worst: str = "max"


def observed_checks(
    params: RampParams, bounds: list[Observed], window: Window, *, required: bool = True
) -> StepResult:
    """Each bounded concept over the window (its worst value) as a table and checks.
    `required=False` (a dry run) makes them informational."""
    client = PromClient.from_params(params)
    rows, checks = [], []
    for bound in bounds:
        measure = concept(bound.name, params.monitoring.queries)
        try:
            value = summarise(client, measure, window, worst=bound.worst, step="2s")
        except PrometheusError:
            value = None
        rows.append({"concept": bound.name, "title": measure.title, "value": value,
                     "unit": measure.unit, "bound": f"{bound.op} {bound.threshold:g}"})  # fmt: skip
        checks.append(
            compare(
                f"{measure.title} during the ramps",
                value,
                bound.op,
                bound.threshold,
                unit=measure.unit,
                required=required and bound.required,
                detail=f"{bound.name} ({measure.summary}) over {window}",
            )
        )
    return StepResult(pd.DataFrame(rows), checks)
