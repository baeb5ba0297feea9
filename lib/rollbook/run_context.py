"""The run context: where a run writes, which archive it belongs to, and whether anyone
watches it live. `runbook.start` resolves it once; everything else is handed it.

Under `rollbook run` the runner passes it as the notebook parameter `run_context` (a dict of
the fields below, injected by papermill like any parameter):

    {"run_dir": ".../outputs/<run id>", "archive_root": ".../outputs",
     "headless": true, "report_steps": true}

Without it (JupyterLab, nbval, a script) a run writes to `<archive>/interactive/<run id>/`
of the default archive (`rollbook.archive.layout.default_output_dir`).

**Headless**, one rule for every display: nobody watches a live kernel, so progress is
printed as plain lines (they end up in the archived notebook and the run log) instead of
bars and live panels. A runner's run is headless; otherwise a run is headless unless it
runs in a Jupyter kernel.

**Step reports**: when `report_steps` is set, the end of each runbook step and of each ramp
step is sent to the runner as a `StepReport` over the Jupyter comm `rollbook.progress`
(comm messages are not outputs: the notebook does not store them); the runner prints one
line for each.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from rollbook.archive.layout import default_output_dir, new_run_id

PROGRESS_COMM = "rollbook.progress"


@dataclass(frozen=True)
class StepReport:
    """A step that ended: a runbook step, or (`nested`) a ramp step inside one."""

    name: str
    status: str  # ok, failed, planned
    seconds: float | None = None
    detail: str = ""
    nested: bool = False


class RunContext(BaseModel):
    """Where one run writes and how it is watched."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    run_dir: Path
    archive_root: Path  # the archive the run is written to; other runs are read from it
    headless: bool
    report_steps: bool = False  # the runner listens on the `rollbook.progress` comm

    @property
    def run_id(self) -> str:
        return self.run_dir.name

    def report(self, step: StepReport) -> None:
        """Tell the runner that a step ended (nothing happens when no runner listens)."""
        if self.report_steps:
            _progress_comm().send(asdict(step))


def in_jupyter_kernel() -> bool:
    """True in a Jupyter kernel (JupyterLab, nbval, papermill), False in a plain process."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


def resolve(given: Mapping[str, Any] | None, *, name: str, environment: str) -> RunContext:
    """The runner's context as given; else an interactive run's under the default archive,
    headless unless in a Jupyter kernel."""
    if given:
        return RunContext.model_validate(given)
    archive_root = default_output_dir()
    run_id = new_run_id(name, environment, datetime.now(UTC))
    return RunContext(
        run_dir=archive_root / "interactive" / run_id,
        archive_root=archive_root,
        headless=not in_jupyter_kernel(),
    )


@cache
def _progress_comm() -> Any:
    """The kernel's one comm to the runner, opened on the first report."""
    from comm import create_comm

    return create_comm(target_name=PROGRESS_COMM)
