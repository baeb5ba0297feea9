"""The preflight baseline later runbooks compare against: the newest passed preflight of
an environment in the archive (its `baseline` data)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rollbook.archive.catalog import list_runs
from rollbook.archive.runs import load_run

PREFLIGHT_RUNBOOK = "00_preflight"


def latest_baseline(
    environment: str, output_dir: Path | None = None
) -> tuple[str | None, dict[str, Any]]:
    """(run id, {concept: value}) of the newest passed preflight of the environment."""
    runs = list_runs(output_dir, runbook=PREFLIGHT_RUNBOOK, outcome="passed")
    runs = runs[runs["environment"] == environment]
    for run_id in runs["run_id"]:
        baseline = load_run(run_id, output_dir).results.data.get("baseline")
        if baseline:
            return run_id, baseline
    return None, {}
