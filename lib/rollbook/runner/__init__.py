"""Headless execution of runbooks: validation, papermill, outcome, archive.

The names below load on first use (`rollbook.lazy`): papermill and nbformat only when a
runbook is prepared or run.
"""

from typing import TYPE_CHECKING

from rollbook.lazy import lazy_exports

if TYPE_CHECKING:
    from rollbook.runner.execute import Watch
    from rollbook.runner.inputs import BadInput
    from rollbook.runner.outcome import EXIT_BAD_INPUT, Outcome
    from rollbook.runner.run import RunReport, RunRequest, prepare, run

__all__ = [
    "EXIT_BAD_INPUT",
    "BadInput",
    "Outcome",
    "RunReport",
    "RunRequest",
    "Watch",
    "prepare",
    "run",
]
lazy_exports(__name__)
