"""The notebook-side API: what a runbook's cells call.

    rb = runbook.start(params_file, apply=apply, name="00_preflight")
    with rb.step("baseline EXPLAIN"):
        rb.check(verdict.compare("history p95", p95, "<", 0.05, unit="s"))
    rb.verdict()

`start` loads and validates the params, sets the plotly renderer that keeps each chart
once as its plotly JSON (drawn by JupyterLab and by the HTML export), shows a dry-run /
apply banner and resolves the run context (`rollbook.run_context`: the run directory set by
`rollbook run`, else `outputs/interactive/<run id>/`; the archive; headless or not), which
`rb.context` hands on. Every step and check is written to `results.json` as it happens, so a
run that dies still leaves its timings behind; under `rollbook run` each step's end is also
reported to the runner, which prints one line for it.
"""

from __future__ import annotations

import atexit
import html
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rollbook.archive.layout import RunPaths
from rollbook.archive.results import RunResults
from rollbook.params import Params, load_params
from rollbook.run_context import RunContext, StepReport, resolve
from rollbook.step import StepResult
from rollbook.verdict import (
    Check,
    Status,
    checks_frame,
    failing,
    failure_summary,
    passes,
    raise_if_failed,
    styled_table,
    tally,
)

if TYPE_CHECKING:
    import pandas as pd

# Each chart once, as its plotly JSON: what JupyterLab renders, and what the HTML export
# draws with plotly.js embedded there (`rollbook.archive.figures`). Set explicitly: plotly's
# default depends on where it runs, and the `notebook` renderer would store plotly.js
# (about 5 MB) in every notebook.
PLOTLY_RENDERER = "plotly_mimetype"


def _now() -> datetime:
    return datetime.now(UTC)


def _display(markup: str, plain: str) -> None:
    """Show HTML in the notebook; headless logs (papermill) get the plain text."""
    from IPython.display import display

    display({"text/html": markup, "text/plain": plain}, raw=True)


def _banner(colour: str, title: str, text: str) -> None:
    markup = (
        f'<div style="background:{colour};padding:8px 12px;border-radius:4px;'
        f'font-size:1.1em"><b>{html.escape(title)}</b> — {html.escape(text)}</div>'
    )
    _display(markup, f"{title}: {text}")


class Runbook:
    """One run of a runbook: its params, steps, checks and verdict."""

    def __init__(self, name: str, params: Params, context: RunContext) -> None:
        self.name = name
        self.params = params
        self.context = context
        self.paths = RunPaths(context.run_dir)
        self.checks: list[Check] = []
        self.steps: list[dict[str, Any]] = []
        self.data: dict[str, Any] = {}
        self.started_at = _now()
        self.outcome = "incomplete"
        self._lock: ExitStack | None = None

    @property
    def apply(self) -> bool:
        """True when this run may change the target; otherwise it is a dry run."""
        return self.params.safety.apply

    @property
    def run_dir(self) -> Path:
        return self.paths.dir

    def show_mode(self) -> None:
        """The dry-run / apply banner at the top of the notebook."""
        env = self.params.environment
        if self.apply:
            _banner("#f8d7da", "APPLY", f"this run changes {env}")
        else:
            _banner("#fff3cd", "DRY RUN", f"nothing on {env} is changed; rerun with --apply")

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Time a step; its start, end and status go to results.json (and to the runner)
        even if it raises."""
        record: dict[str, Any] = {"name": name, "started_at": _now().isoformat()}
        self.steps.append(record)
        began = time.monotonic()
        try:
            yield
        except BaseException as exc:
            record.update(status="error", error=f"{type(exc).__name__}: {exc}")
            raise
        else:
            record["status"] = "ok"
        finally:
            record.update(ended_at=_now().isoformat(), seconds=round(time.monotonic() - began, 3))
            self.save()
            status = "ok" if record["status"] == "ok" else "failed"
            self.context.report(
                StepReport(name, status, record["seconds"], record.get("error", ""))
            )

    def check(self, check: Check) -> Check:
        """Record one check of the verdict; returns it for display."""
        self.checks.append(check)
        self.save()
        return check

    def add_checks(self, checks: list[Check]) -> list[Check]:
        """Record several checks at once."""
        self.checks.extend(checks)
        self.save()
        return checks

    def show(self, result: StepResult) -> pd.DataFrame:
        """One step's result: its checks join the verdict, its data lands in results.json,
        its charts are shown; returns its table for the cell to display."""
        self.add_checks(result.checks)
        for key, value in result.data.items():
            self.record(key, value)
        for figure in result.figures:
            figure.show()
        return result.table

    def record(self, key: str, value: Any) -> Any:
        """Keep a JSON-ready result (e.g. a baseline snapshot) in results.json under `data`."""
        self.data[key] = value
        self.save()
        return value

    def verdict(self) -> None:
        """Show the verdict table, write results.json, raise VerdictFailed unless it passes.

        The banner counts each check as what it was (`2 passed, 1 no data`); no checks at
        all is a failed verdict.
        """
        passed = passes(self.checks)
        self.outcome = "passed" if passed else "failed"
        self.save()
        counted = tally(self.checks)
        if not passed:
            reasons = "" if not self.checks else ": " + failure_summary(self.checks)
            _banner("#f8d7da", "FAILED", f"{counted}{reasons}".replace("\n", "; "))
        elif all(c.status is Status.PASS for c in self.checks):
            _banner("#d4edda", "PASSED", counted)
        else:  # nothing required is missing, but not everything was verified
            _banner("#fff3cd", "PASSED", counted)
        _display(styled_table(self.checks).to_html(), checks_frame(self.checks).to_string())
        raise_if_failed(self.checks)

    def results(self) -> RunResults:
        """The content of results.json."""
        return RunResults(
            runbook=self.name,
            environment=self.params.environment,
            apply=self.apply,
            verdict=self.outcome,
            started_at=self.started_at.isoformat(),
            updated_at=_now().isoformat(),
            checks=list(self.checks),
            failing=[c.name for c in failing(self.checks)],
            steps=self.steps,
            data=self.data,
        )

    def save(self) -> None:
        self.results().write(self.paths.results)

    def take_lock(self) -> None:
        """Hold this runbook's advisory lock on the primary until the kernel ends.

        Raises `rollbook.db.locks.LockBusy`, naming the holder, when another run has it.
        """
        from rollbook.db.locks import target_of, try_lock
        from rollbook.db.session import session

        endpoint = self.params.primary
        holder = ExitStack()
        conn = holder.enter_context(
            session(endpoint, self.params.safety, purpose=f"lock:{self.name}")
        )
        try:
            try_lock(conn, self.name, target_of(endpoint))
        except BaseException:
            holder.close()
            raise
        self._lock = holder
        atexit.register(self.release_lock)

    def release_lock(self) -> None:
        """Give the advisory lock back (also done when the kernel exits)."""
        if self._lock is not None:
            self._lock.close()  # closing the session releases the session-level lock
            self._lock = None


def start(
    params_file: str | Path,
    *,
    name: str,
    apply: bool = False,
    lock: bool = False,
    context: Mapping[str, Any] | None = None,
) -> Runbook:
    """Begin a run: validated params, run context, plotly renderer, mode banner, optional
    advisory lock.

    `apply` is the notebook's `apply` parameter (set by `rollbook run --apply`); it
    overrides `safety.apply` of the params file so phase code sees one answer. `context`
    is the notebook's `run_context` parameter (set by `rollbook run`; None elsewhere).
    """
    import plotly.io as pio

    params = load_params(params_file, {"safety.apply": bool(apply)})
    pio.renderers.default = PLOTLY_RENDERER
    rb = Runbook(name, params, resolve(context, name=name, environment=params.environment))
    rb.show_mode()
    if lock:
        rb.take_lock()
    rb.save()
    return rb
