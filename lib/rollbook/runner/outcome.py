"""How a run ended, its exit code, and the banner that puts the reason on top."""

from __future__ import annotations

import html
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from rollbook.errors import InputError, error_class
from rollbook.verdict import failure_reason, passes, tally

if TYPE_CHECKING:
    import nbformat

    from rollbook.archive.results import RunResults
    from rollbook.runner.execute import Execution

BANNER_TAG = "rollbook-outcome"


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"  # a required check failed or had no data
    ERROR = "error"  # a cell raised, or the notebook ended without a verdict
    KERNEL_DIED = "kernel died"
    BUSY = "busy"  # another run of the same step holds the lock


EXIT_CODES = {
    Outcome.PASSED: 0,
    Outcome.FAILED: 1,
    Outcome.ERROR: 1,
    Outcome.KERNEL_DIED: 3,
    Outcome.BUSY: 4,
}
EXIT_BAD_INPUT = InputError.exit_code
_COLOURS = {Outcome.PASSED: "#d4edda", Outcome.FAILED: "#f8d7da", Outcome.BUSY: "#fff3cd"}


def _failed_cell(nb: nbformat.NotebookNode) -> str:
    """`cell 6 ('first line of its code')`, counting cells of the archived notebook from 1."""
    for number, cell in enumerate(nb.cells, start=1):
        if cell.metadata.get("papermill", {}).get("exception") and cell.cell_type == "code":
            first_line = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
            return f"cell {number} ({first_line[:60]!r})"
    return "a cell"


def _raised(execution: Execution) -> Outcome | None:
    """The outcome the class of the error a cell raised stands for (None: not rollbook's)."""
    import rollbook.db.locks  # noqa: F401  (its LockBusy, raised by runbook.start, is known)

    cls = error_class(execution.error_name)
    return None if cls is None else Outcome(cls.outcome)


def decide(execution: Execution, results: RunResults, notebook: Path) -> tuple[Outcome, str]:
    """The outcome of a run and one line (or a few) saying why."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    checks = results.checks
    if execution.kernel_died:
        return Outcome.KERNEL_DIED, (
            f"the kernel died while running {_failed_cell(nb)} (killed or out of memory); "
            "the run stopped there"
        )
    if execution.stopped:
        return Outcome.ERROR, f"execution stopped: {execution.stopped}"
    raised = _raised(execution)
    if raised is Outcome.FAILED or results.verdict == "failed":
        return Outcome.FAILED, failure_reason(checks)
    if raised is Outcome.BUSY:
        return Outcome.BUSY, execution.cell_error or "lock busy"
    if execution.cell_error:
        return Outcome.ERROR, f"{_failed_cell(nb)} raised {execution.cell_error}"
    if results.verdict != "passed":
        return Outcome.ERROR, "the notebook ended without reaching its verdict (rb.verdict())"
    if not passes(checks):  # a results.json that says passed with no checks
        return Outcome.FAILED, failure_reason(checks)
    return Outcome.PASSED, tally(checks)


def banner_markup(outcome: Outcome, reason: str, *, apply: bool, run_id: str) -> str:
    """The outcome banner as HTML (shown in the notebook, the HTML export and nowhere else)."""
    colour = _COLOURS.get(outcome, "#f8d7da")
    mode = (
        "<b>APPLY</b>: this run was allowed to change the target"
        if apply
        else "<b>DRY RUN</b>: nothing was changed (run with --apply to change the target)"
    )
    reason_html = "<br>".join(html.escape(line) for line in reason.splitlines())
    return (
        f'<div style="background:{colour};padding:10px 14px;border-radius:4px">'
        f'<div style="font-size:1.4em"><b>{html.escape(outcome.value.upper())}</b>'
        f" (exit code {EXIT_CODES[outcome]})</div>"
        f"<div>{reason_html}</div><div>{mode}</div>"
        f"<div><small>run {html.escape(run_id)}</small></div></div>"
    )


def insert_banner(notebook: Path, markup: str) -> None:
    """Put the outcome banner first in the archived notebook (replacing an older one)."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    nb.cells = [c for c in nb.cells if BANNER_TAG not in c.metadata.get("tags", [])]
    cell = nbformat.v4.new_markdown_cell(markup, metadata={"tags": [BANNER_TAG]})
    nb.cells.insert(0, cell)
    nbformat.write(nb, notebook)
