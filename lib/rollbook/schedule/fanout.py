"""Fan one runbook out over several params files: a `rollbook run` per file, at most
`max_parallel` at once, and one exit code for the scheduler.

Each run is the ordinary `rollbook run` process (its own kernel, lock and archive folder),
so a scheduler — cron, Airflow, anything that runs a command — sees exactly what a DBA
would. The aggregated exit code is 0 only when every run passed; otherwise the highest of
the runs' codes (1 a check failed, 2 bad input, 3 kernel died, 4 lock busy).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROLLBOOK = str(Path(sys.executable).parent / "rollbook")


def run_command(
    notebook: Path | str,
    params_file: Path | str,
    output_dir: Path | str,
    overrides: Sequence[str] = (),
    *,
    rollbook: str | None = None,
) -> list[str]:
    """The `rollbook run` command line for one params file (overrides as `NAME=VALUE`);
    `rollbook` is the executable (default: the one next to this Python)."""
    for override in overrides:
        if "=" not in override:
            raise ValueError(f"override {override!r}: write NAME=VALUE")
    command = [rollbook or ROLLBOOK, "run", str(notebook), "--params", str(params_file)]
    command += ["--output-dir", str(output_dir)]
    return command + [arg for o in overrides for arg in ("-p", o)]


@dataclass(frozen=True)
class FanOutResult:
    """How one params file's run ended."""

    params_file: str
    exit_code: int
    seconds: float
    last_line: str  # `archived in ...` or the error


def _execute(command: list[str]) -> tuple[int, str]:
    done = subprocess.run(command, capture_output=True, text=True)
    lines = (done.stdout.strip() or done.stderr.strip() or "(no output)").splitlines()
    return done.returncode, lines[-1]


def fan_out(
    notebook: Path | str,
    params_files: Sequence[Path | str],
    output_dir: Path | str,
    overrides: Sequence[str] = (),
    *,
    max_parallel: int = 2,
    execute: Callable[[list[str]], tuple[int, str]] = _execute,
) -> list[FanOutResult]:
    """Run the notebook once per params file, `max_parallel` at a time; results in order."""
    if max_parallel < 1:
        raise ValueError(f"max_parallel must be at least 1, got {max_parallel}")
    if not params_files:
        raise ValueError("no params files to run")
    missing = [str(p) for p in params_files if not Path(p).is_file()]
    if missing:
        raise FileNotFoundError(f"params file(s) not found: {', '.join(missing)}")

    def one(params_file: Path | str) -> FanOutResult:
        began = time.monotonic()
        code, line = execute(run_command(notebook, params_file, output_dir, overrides))
        return FanOutResult(str(params_file), code, round(time.monotonic() - began, 1), line)

    with ThreadPoolExecutor(max_workers=max_parallel) as pool:
        return list(pool.map(one, params_files))


def aggregate_exit_code(results: Sequence[FanOutResult]) -> int:
    """0 when every run passed, else the highest exit code among the runs."""
    return max((r.exit_code for r in results), default=0)
