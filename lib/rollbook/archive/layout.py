"""Where runs are archived: the output directory, run ids and the files of one run."""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

OUTPUT_DIR_ENV = "ROLLBOOK_OUTPUT_DIR"
TIMESTAMP_FORMAT = "%Y%m%dT%H%M%SZ"


def default_output_dir() -> Path:
    """$ROLLBOOK_OUTPUT_DIR, else `outputs/` of the enclosing project, else ./outputs."""
    if os.environ.get(OUTPUT_DIR_ENV):
        return Path(os.environ[OUTPUT_DIR_ENV]).absolute()
    cwd = Path.cwd().absolute()
    for folder in (cwd, *cwd.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "outputs").is_dir():
            return folder / "outputs"
    return cwd / "outputs"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.]+", "_", text).strip("_") or "run"


def new_run_id(runbook: str, environment: str, started_at: datetime) -> str:
    """`20261129T183000Z-00_preflight-lab-1a2b3c`: `ls` sorts runs by start time."""
    stamp = started_at.astimezone(UTC).strftime(TIMESTAMP_FORMAT)
    return f"{stamp}-{_slug(runbook)}-{_slug(environment)}-{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class RunPaths:
    """The files of an archived run (runs archived before the run log have no `run.log`)."""

    dir: Path

    @property
    def run_id(self) -> str:
        return self.dir.name

    @property
    def notebook(self) -> Path:
        return self.dir / "notebook.ipynb"

    @property
    def html(self) -> Path:
        return self.dir / "report.html"

    @property
    def results(self) -> Path:
        return self.dir / "results.json"

    @property
    def manifest(self) -> Path:
        return self.dir / "manifest.json"

    @property
    def log(self) -> Path:
        """The cell log: every cell's start and end, its printed output and text results."""
        return self.dir / "run.log"

    def files(self) -> dict[str, Path]:
        return {
            "notebook": self.notebook,
            "html": self.html,
            "results": self.results,
            "manifest": self.manifest,
            "log": self.log,
        }
