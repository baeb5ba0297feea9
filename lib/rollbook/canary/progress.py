"""Show a ramp while it runs: an updating HTML panel in JupyterLab, log lines elsewhere.

Under `rollbook run` (papermill, no one watching) each event is one plain line, so the
archived notebook reads like a log; outside a kernel (scripts, tests) likewise.
"""

from __future__ import annotations

import html
import os
import time

from rollbook.archive.layout import RUN_DIR_ENV
from rollbook.canary.result import Event, RampResult

LAST_CHECKS = 8


def interactive() -> bool:
    """True in a Jupyter kernel that is not a `rollbook run` (the runner sets the run dir)."""
    if os.environ.get(RUN_DIR_ENV):
        return False
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


def log_line(result: RampResult, event: Event) -> str:
    elapsed = event.at - result.started_at
    status = f" [{event.status}]" if event.status else ""
    return (
        f"ramp {result.flag} +{elapsed:6.1f}s {event.kind:<8} at {event.flag_value:g} %"
        f"{status} {event.detail}".rstrip()
    )


class RampProgress:
    """A callable the controller calls after every event."""

    def __init__(self, live: bool | None = None) -> None:
        self.live = interactive() if live is None else live
        self.handle = None

    def __call__(self, result: RampResult, event: Event) -> None:
        if not self.live:
            print(log_line(result, event), flush=True)
            return
        from IPython.display import HTML, display

        panel = HTML(self.panel(result))
        if self.handle is None:
            self.handle = display(panel, display_id=True)
        else:
            self.handle.update(panel)

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
