"""manifest.json: what ran, with what, where, by whom, and how it ended."""

from __future__ import annotations

import getpass
import os
import platform
import socket
import subprocess
import sys
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = (
    "rollbook",
    "papermill",
    "nbconvert",
    "nbclient",
    "ipykernel",
    "plotly",
    "pandas",
    "psycopg",
    "pydantic",
)


def package_versions() -> dict[str, str]:
    """Versions of the packages that shape a run (and Python's)."""
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def git_state(folder: Path) -> dict[str, Any]:
    """Commit of the repository holding `folder`, and whether its tree had local changes."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None}
    return {"commit": commit, "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}


def who_and_where() -> dict[str, Any]:
    try:
        user = getpass.getuser()
    except OSError:
        user = None
    return {
        "user": user,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "command": " ".join(sys.argv),
    }


def build_manifest(
    *,
    run_id: str,
    notebook: Path,
    params_file: Path,
    redacted_params: dict[str, Any],
    overrides: dict[str, Any],
    apply: bool,
    started_at: datetime,
    ended_at: datetime,
    outcome: str,
    reason: str,
    exit_code: int,
    files: dict[str, Path],
) -> dict[str, Any]:
    """The manifest of one run (secrets appear only as references)."""
    return {
        "run_id": run_id,
        "runbook": notebook.stem,
        "notebook": str(notebook.absolute()),
        "params_file": str(params_file.absolute()),
        "environment": redacted_params.get("environment"),
        "params": redacted_params,
        "overrides": overrides,
        "mode": "apply" if apply else "dry-run",
        "started_at": started_at.isoformat(),
        "ended_at": ended_at.isoformat(),
        "duration_seconds": round((ended_at - started_at).total_seconds(), 3),
        "outcome": outcome,
        "reason": reason,
        "exit_code": exit_code,
        "files": {name: path.name for name, path in files.items()},
        "git": git_state(notebook.parent),
        "versions": package_versions(),
        "who": who_and_where(),
    }
