"""Reading an archived run back: manifest, results, checks and step timings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from rollbook.archive.layout import RunPaths, default_output_dir
from rollbook.archive.results import RunResults, read_json
from rollbook.errors import InputError
from rollbook.verdict import Check


class RunNotFound(InputError, LookupError):
    """No archived run (or more than one) matches the given id."""


@dataclass(frozen=True)
class ArchivedRun:
    """One archived run, as an incident reviewer reads it."""

    paths: RunPaths
    manifest: dict[str, Any]
    results: RunResults

    @property
    def run_id(self) -> str:
        return self.paths.run_id

    @property
    def started_at(self) -> pd.Timestamp:
        return pd.Timestamp(self.manifest["started_at"]).tz_convert("UTC")

    @property
    def ended_at(self) -> pd.Timestamp:
        return pd.Timestamp(self.manifest["ended_at"]).tz_convert("UTC")

    @property
    def check_list(self) -> list[Check]:
        return self.results.checks

    @property
    def checks(self) -> pd.DataFrame:
        """The verdict table."""
        from rollbook.verdict import checks_frame

        return checks_frame(self.check_list)

    @property
    def steps(self) -> pd.DataFrame:
        """Step timings with UTC start/end: windows for Prometheus queries."""
        frame = pd.DataFrame(
            self.results.steps,
            columns=["name", "status", "started_at", "ended_at", "seconds", "error"],
        )
        for column in ("started_at", "ended_at"):
            frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
        return frame


def find_run_dir(run_id: str, output_dir: Path | None = None) -> Path:
    """The folder of a run: its full id, or a unique prefix or suffix (the short id)."""
    output_dir = Path(output_dir or default_output_dir())
    exact = output_dir / run_id
    if (exact / "manifest.json").is_file():
        return exact
    matches = [
        m.parent
        for m in output_dir.glob("*/manifest.json")
        if m.parent.name.startswith(run_id) or m.parent.name.endswith(run_id)
    ]
    if len(matches) != 1:
        found = "no run" if not matches else f"{len(matches)} runs"
        raise RunNotFound(f"{found} in {output_dir} match {run_id!r}")
    return matches[0]


def load_run(run_id: str, output_dir: Path | None = None) -> ArchivedRun:
    """Load an archived run by id (or unique prefix / short id suffix)."""
    paths = RunPaths(find_run_dir(run_id, output_dir))
    return ArchivedRun(
        paths=paths,
        manifest=read_json(paths.manifest) or {},
        results=RunResults.read(paths.results) or RunResults(),
    )
