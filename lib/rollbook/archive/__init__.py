"""Archived runs: output layout, HTML export, manifest, catalog, reading runs back."""

from rollbook.archive.catalog import list_runs, rebuild
from rollbook.archive.layout import RunPaths, default_output_dir
from rollbook.archive.runs import ArchivedRun, RunNotFound, load_run

__all__ = [
    "ArchivedRun",
    "RunNotFound",
    "RunPaths",
    "default_output_dir",
    "list_runs",
    "load_run",
    "rebuild",
]
