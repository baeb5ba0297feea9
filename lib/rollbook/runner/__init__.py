"""Headless execution of runbooks: validation, papermill, outcome, archive."""

from rollbook.runner.inputs import BadInput
from rollbook.runner.outcome import EXIT_BAD_INPUT, Outcome
from rollbook.runner.run import RunReport, RunRequest, prepare, run

__all__ = ["EXIT_BAD_INPUT", "BadInput", "Outcome", "RunReport", "RunRequest", "prepare", "run"]
