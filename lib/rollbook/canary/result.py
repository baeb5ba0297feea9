"""What a ramp did: its outcome, every event on a timeline, verdict checks and a chart."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

import pandas as pd

from rollbook.canary.triggers import Observed, Signal, TriggerResult
from rollbook.verdict import Check, Status, expect

if TYPE_CHECKING:
    import plotly.graph_objects as go


class Outcome(StrEnum):
    RUNNING = "running"
    PROMOTED = "promoted"
    ROLLED_BACK = "rolled back"
    PAUSED = "paused (inconclusive)"
    DRY_RUN = "planned (dry run)"


@dataclass(frozen=True)
class Event:
    """One thing the controller did or saw. `kind`: plan, step, warmup, check, gate,
    rollback, verify, pause, promote, resume."""

    at: float  # epoch seconds
    kind: str
    flag_value: float
    status: str = ""
    detail: str = ""
    results: tuple[TriggerResult, ...] = ()


@dataclass(frozen=True)
class Verification:
    """Whether the metrics that triggered recovered within the bound after the rollback."""

    passed: bool
    seconds: float
    flag_restored: bool
    results: tuple[TriggerResult, ...]

    @property
    def summary(self) -> str:
        state = "recovered" if self.passed else "NOT recovered"
        return f"{state} after {self.seconds:.0f} s: " + "; ".join(
            r.summary() for r in self.results
        )


@dataclass
class RampResult:
    flag: str
    run_id: str
    steps: list[float]
    previous_value: float
    started_at: float
    outcome: Outcome = Outcome.RUNNING
    step_value: float | None = None  # value in effect at the end
    trigger: str | None = None  # the trigger that rolled back ("interrupted" for a dead run)
    fired: list[TriggerResult] = field(default_factory=list)
    rolled_back_at: float | None = None
    verification: Verification | None = None
    reason: str = ""
    events: list[Event] = field(default_factory=list)

    @property
    def observed(self) -> dict[str, Observed]:
        """Observed values of every trigger that fired, by trigger name."""
        return {r.name: r.observed for r in self.fired}

    def checks(self) -> list[Check]:
        """The ramp as verdict checks: promoted, or why not; a rollback and its verification.
        A dry run measured nothing: its one check is *planned*, no data and not required."""
        name = f"ramp {self.flag}"
        if self.outcome is Outcome.DRY_RUN:
            plan = " → ".join(f"{s:g} %" for s in self.steps)
            return [
                Check(
                    name=f"{name} planned (dry run)",
                    status=Status.NO_DATA,
                    observed=f"planned: {plan}",
                    required=False,
                    detail="dry run: no flag changed, nothing measured",
                )
            ]
        status = {
            Outcome.PROMOTED: Status.PASS,
            Outcome.PAUSED: Status.NO_DATA,
        }.get(self.outcome, Status.FAIL)
        checks = [
            Check(
                name=f"{name} promoted to {self.steps[-1]:g} %",
                status=status,
                observed=self.outcome.value,
                detail=self.reason,
            )
        ]
        if self.outcome is Outcome.ROLLED_BACK:
            for fired in self.fired:
                checks.append(
                    Check(
                        name=f"{name} trigger {fired.name}",
                        status=Status.FAIL,
                        observed=fired.summary(),
                        threshold=fired.threshold,
                    )
                )
            verification = self.verification
            checks.append(
                expect(
                    f"{name} restored to {self.previous_value:g}",
                    verification.flag_restored if verification else None,
                )
            )
            checks.append(
                expect(
                    f"{name} rollback verified (metrics recovered)",
                    verification.passed if verification else None,
                    detail=verification.summary if verification else "not verified",
                )
            )
        return checks

    def timeline(self) -> pd.DataFrame:
        """One row per event: time, seconds since start, kind, flag value, status, detail."""
        rows = [
            {
                "time": datetime.fromtimestamp(e.at, UTC),
                "elapsed_s": round(e.at - self.started_at, 1),
                "kind": e.kind,
                "flag_value": e.flag_value,
                "status": e.status,
                "detail": e.detail,
            }
            for e in self.events
        ]
        columns = ["time", "elapsed_s", "kind", "flag_value", "status", "detail"]
        return pd.DataFrame(rows, columns=columns)

    def chart(self) -> go.Figure:
        """The flag's value over time, each check as a marker coloured by result, the
        rollback marked."""
        import plotly.graph_objects as go

        frame = self.timeline()
        fig = go.Figure()
        fig.add_scatter(
            x=frame["time"], y=frame["flag_value"], mode="lines", line_shape="hv", name=self.flag
        )
        colours = {"ok": "#2ca02c", "fired": "#d62728", "no data": "#ff7f0e"}
        judged = frame[frame["kind"].isin(["warmup", "check", "gate", "verify"])]
        for status, rows in judged.groupby("status"):
            fig.add_scatter(
                x=rows["time"],
                y=rows["flag_value"],
                mode="markers",
                name=f"check: {status}",
                marker={"color": colours.get(status, "#7f7f7f"), "size": 9},
                text=rows["detail"],
                hovertemplate="%{x}<br>%{text}<extra></extra>",
            )
        if self.rolled_back_at is not None:
            fig.add_vline(
                x=datetime.fromtimestamp(self.rolled_back_at, UTC),
                line={"color": "#d62728", "dash": "dash"},
            )
            fig.add_annotation(
                x=datetime.fromtimestamp(self.rolled_back_at, UTC),
                y=max(self.steps),
                text=f"rollback: {self.trigger}",
                showarrow=False,
                yshift=10,
            )
        fig.update_layout(
            title=f"Ramp of {self.flag}: {self.outcome.value}",
            xaxis_title="time (UTC)",
            yaxis_title="flag value (%)",
            yaxis_range=[0, 105],
        )
        return fig


def check_status(results: list[TriggerResult]) -> str:
    """A check's overall signal: fired if any fired, else no data if any, else ok."""
    signals = {r.signal for r in results}
    for signal in (Signal.FIRED, Signal.NO_DATA):
        if signal in signals:
            return signal.value
    return Signal.OK.value
