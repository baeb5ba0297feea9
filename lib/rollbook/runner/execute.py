"""Execute a notebook with papermill in the `rollbook` kernel and say how it ended."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import papermill
from nbclient.exceptions import DeadKernelError
from papermill.exceptions import PapermillExecutionError

from rollbook.archive.layout import RUN_DIR_ENV

KERNEL_NAME = "rollbook"
KERNEL_START_TIMEOUT_S = 120
# After a cell ends, how long its last outputs may take to arrive (nbclient's default, 4 s,
# is too short for a cell that emits plotly.js and large figures on a busy machine).
IOPUB_TIMEOUT_S = 120


@dataclass(frozen=True)
class Execution:
    """How the kernel run ended: normally, with a cell error, or with the kernel dead."""

    kernel_died: bool = False
    cell_error: str | None = None  # "ename: evalue" of the failing cell
    error_name: str | None = None
    stopped: str | None = None  # execution stopped otherwise (kernel start, timeouts)


@contextmanager
def _env(name: str, value: str) -> Iterator[None]:
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


def _plain_logging() -> None:
    """Plain `time level message` lines for papermill when not on a terminal."""
    logger = logging.getLogger("papermill")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def mark_dead_kernel(notebook: Path) -> int | None:
    """Mark the cell that was running when the kernel died; returns its index.

    papermill marks only cell errors: without this a dead kernel looks like a short run.
    """
    nb = nbformat.read(notebook, as_version=4)
    started = [
        i for i, c in enumerate(nb.cells) if c.metadata.get("papermill", {}).get("start_time")
    ]
    if not started:
        return None
    index = started[-1]
    cell = nb.cells[index]
    cell.metadata.papermill["status"] = "failed"
    cell.metadata.papermill["exception"] = True
    nb.metadata.setdefault("papermill", {})["exception"] = True
    if cell.cell_type == "code":
        cell.outputs.append(
            nbformat.v4.new_output(
                "error",
                ename="DeadKernelError",
                evalue="the kernel died while running this cell (killed or out of memory)",
                traceback=[],
            )
        )
    nbformat.write(nb, notebook)
    return index


def execute(
    notebook: Path,
    output: Path,
    parameters: dict[str, Any],
    run_dir: Path,
    *,
    progress: bool,
) -> Execution:
    """Run `notebook` into `output`; the kernel finds the run directory in $ROLLBOOK_RUN_DIR."""
    if not progress:
        _plain_logging()
    try:
        with _env(RUN_DIR_ENV, str(run_dir)):
            papermill.execute_notebook(
                str(notebook),
                str(output),
                parameters=parameters,
                kernel_name=KERNEL_NAME,
                cwd=str(notebook.parent),
                progress_bar=progress,
                log_output=not progress,
                start_timeout=KERNEL_START_TIMEOUT_S,
                iopub_timeout=IOPUB_TIMEOUT_S,
            )
    except PapermillExecutionError as exc:
        return Execution(cell_error=f"{exc.ename}: {exc.evalue}", error_name=exc.ename)
    except DeadKernelError:
        mark_dead_kernel(output)
        return Execution(kernel_died=True)
    except Exception as exc:  # kernel failing to start, timeouts: archived if begun
        if not output.exists():
            raise
        return Execution(stopped=f"{type(exc).__name__}: {exc}")
    return Execution()
