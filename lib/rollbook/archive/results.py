"""results.json: the verdict, every check and step timings of one run (`RunResults`), and
atomic JSON files for the archive."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from rollbook.verdict import Check


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write JSON atomically, so a reader (or a killed kernel) never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as out:
        json.dump(payload, out, indent=2, default=str)
        out.write("\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in `path`, or None when the file does not exist."""
    try:
        payload: dict[str, Any] = json.loads(Path(path).read_text())
    except FileNotFoundError:
        return None
    return payload


SCHEMA_VERSION = 1


class RunResults(BaseModel):
    """results.json, written by the runbook as it goes and read back by the runner, the
    archive, the CLI and later runbooks (a baseline, archived plans under `data`).

    `schema_version` says which shape a file has; a file written before it existed (no
    `schema_version`) reads as version 0, whose keys are the same."""

    model_config = ConfigDict(extra="ignore")

    schema_version: int = SCHEMA_VERSION
    runbook: str = ""
    environment: str = ""
    apply: bool = False
    verdict: str = "incomplete"  # running | passed | failed | incomplete (never reached)
    started_at: str | None = None
    updated_at: str | None = None
    checks: list[Check] = Field(default_factory=list)
    failing: list[str] = Field(default_factory=list)  # names of failing required checks
    steps: list[dict[str, Any]] = Field(default_factory=list)  # name, status, times, error
    data: dict[str, Any] = Field(default_factory=dict)  # JSON-ready results of the steps

    def write(self, path: Path) -> None:
        write_json(path, self.model_dump(mode="json"))

    @classmethod
    def read(cls, path: Path) -> RunResults | None:
        """The results in `path`, or None when the file does not exist."""
        raw = read_json(path)
        return None if raw is None else cls.model_validate({"schema_version": 0, **raw})
