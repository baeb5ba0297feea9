"""Show a ramp while it runs: an updating HTML panel live in JupyterLab, log lines in a
headless run (`rollbook.run_context`), so the archived notebook reads like a log; and, for
the runner, one report per ramp step when it ends.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable

from rollbook.canary.result import Event, RampResult
from rollbook.run_context import StepReport

LAST_CHECKS = 8
# How an event ends the step in effect: the next step or the promotion means it held.
_ENDS_STEP = {"step": "ok", "promote": "ok", "rollback": "failed", "pause": "paused"}


def log_line(result: RampResult, event: Event) -> str:
    elapsed = event.at - result.started_at
    status = f" [{event.status}]" if event.status else ""
    return (
        f"ramp {result.flag} +{elapsed:6.1f}s {event.kind:<8} at {event.flag_value:g} %"
        f"{status} {event.detail}".rstrip()
    )


class RampProgress:
    """A callable the controller calls after every event: a live panel or (`live` false) a
    log line; each ended ramp step is passed to `report` (the run context's)."""

    def __init__(
        self, live: bool = False, report: Callable[[StepReport], None] | None = None
    ) -> None:
        self.live = live
        self.report = report
        self.handle = None
        self.step: tuple[float, float] | None = None  # flag value and start of the step

    def __call__(self, result: RampResult, event: Event) -> None:
        ended = self._ended_step(result, event)
        if ended is not None and self.report is not None:
            self.report(ended)
        if not self.live:
            print(log_line(result, event), flush=True)
            return
        from IPython.display import HTML, display

        panel = HTML(self.panel(result))
        if self.handle is None:
            self.handle = display(panel, display_id=True)
        else:
            self.handle.update(panel)

    def _ended_step(self, result: RampResult, event: Event) -> StepReport | None:
        """The ramp step `event` ends (held, rolled back or paused), or a step a dry run
        plans; a rollback before any step of this run (an interrupted run's) is the ramp's."""
        if event.kind == "plan":
            return StepReport(f"ramp {result.flag} {event.flag_value:g} %", "planned", nested=True)
        status = _ENDS_STEP.get(event.kind)
        if status is None:
            return None
        began = self.step
        self.step = (event.flag_value, event.at) if event.kind == "step" else None
        detail = "" if status == "ok" else result.reason
        if began is None:
            if status == "ok":
                return None
            return StepReport(f"ramp {result.flag}", status, detail=detail, nested=True)
        value, at = began
        name = f"ramp {result.flag} {value:g} %"
        return StepReport(name, status, round(event.at - at, 1), detail, nested=True)

    @staticmethod
    def panel(result: RampResult) -> str:
        """Step, elapsed time, outcome so far and the last checks as an HTML block."""
        elapsed = time.time() - result.started_at
        rows = "".join(
            f"<tr><td>+{e.at - result.started_at:.0f}s</td><td>{html.escape(e.kind)}</td>"
            f"<td>{e.flag_value:g} %</td><td>{html.escape(e.status)}</td>"
            f"<td>{html.escape(e.detail)}</td></tr>"
            for e in result.events[-LAST_CHECKS:]
        )
        step = "—" if result.step_value is None else f"{result.step_value:g} %"
        plan = " → ".join(f"{s:g}" for s in result.steps)
        return (
            f"<div><b>Ramp {html.escape(result.flag)}</b> ({plan} %) — step {step}, "
            f"{elapsed:.0f} s elapsed, {html.escape(result.outcome.value)}"
            f"<table><tr><th>t</th><th>event</th><th>flag</th><th>status</th><th>detail</th>"
            f"</tr>{rows}</table></div>"
        )
