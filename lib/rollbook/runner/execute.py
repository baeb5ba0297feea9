"""Execute a notebook with papermill in the `rollbook` kernel and say how it ended.

The kernel talks to the runner over IPC (sockets in a private temporary folder), not TCP
ports: no port race between parallel runs, and no "running over TCP without encryption"
warning from the kernel. papermill's cell log (each cell's start and end, what it printed,
its text results) and the kernel's own output go to the run's `run.log`, and with `verbose`
the cell log to stderr as well. The steps the kernel reports go to `Watch.on_step`.
"""

from __future__ import annotations

import logging
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import nbformat
import papermill
from nbclient.exceptions import DeadKernelError
from papermill.exceptions import PapermillExecutionError
from traitlets.config import Config

from rollbook.run_context import StepReport
from rollbook.runner.engine import ENGINE_NAME

KERNEL_NAME = "rollbook"
KERNEL_START_TIMEOUT_S = 120
# After a cell ends, how long its last outputs may take to arrive (nbclient's default, 4 s,
# is too short for a cell that emits plotly.js and large figures on a busy machine).
IOPUB_TIMEOUT_S = 120
LOG_FORMAT = "%(asctime)s %(levelname)s %(message)s"


def _ignore(step: StepReport) -> None:
    """A step report nobody watches."""


@dataclass(frozen=True)
class Watch:
    """How a person follows a run: papermill's progress bar over the cells, the cell log on
    stderr (`verbose`), and a call for each step the kernel reports."""

    bar: bool = False
    verbose: bool = False
    on_step: Callable[[StepReport], None] = _ignore


@dataclass(frozen=True)
class Execution:
    """How the kernel run ended: normally, with a cell error, or with the kernel dead."""

    kernel_died: bool = False
    cell_error: str | None = None  # "ename: evalue" of the failing cell
    error_name: str | None = None
    stopped: str | None = None  # execution stopped otherwise (kernel start, timeouts)


@contextmanager
def cell_log(path: Path, *, verbose: bool) -> Iterator[IO[str]]:
    """papermill's log into `path` (and stderr with `verbose`) while the run lasts; yields
    the open log file, which the kernel's own output is appended to."""
    logger = logging.getLogger("papermill")
    level, propagate = logger.level, logger.propagate
    with path.open("a") as stream:
        handlers: list[logging.Handler] = [logging.StreamHandler(stream)]
        if verbose:
            handlers.append(logging.StreamHandler(sys.stderr))
        for handler in handlers:
            handler.setFormatter(logging.Formatter(LOG_FORMAT))
            logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False  # nothing reaches the terminal through the root logger
        try:
            yield stream
        finally:
            for handler in handlers:
                logger.removeHandler(handler)
            logger.setLevel(level)
            logger.propagate = propagate


def kernel_config(sockets: str) -> Config:
    """The kernel on IPC sockets `<sockets>/kernel-<n>` instead of TCP ports."""
    return Config({"KernelManager": {"transport": "ipc", "ip": f"{sockets}/kernel"}})


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
    notebook: Path, output: Path, parameters: dict[str, Any], log: Path, watch: Watch
) -> Execution:
    """Run `notebook` into `output` with `parameters` (the run context among them), logging
    to `log` (how the run ended too: the failing cell's traceback, a dead kernel)."""
    bar = {"desc": notebook.stem, "leave": False} if watch.bar else False
    logger = logging.getLogger("papermill")
    with (
        cell_log(log, verbose=watch.verbose) as log_stream,
        tempfile.TemporaryDirectory(prefix="rollbook-kernel-") as sockets,
    ):
        try:
            papermill.execute_notebook(
                str(notebook),
                str(output),
                parameters=parameters,
                engine_name=ENGINE_NAME,
                kernel_name=KERNEL_NAME,
                cwd=str(notebook.parent),
                progress_bar=bar,
                log_output=True,
                start_timeout=KERNEL_START_TIMEOUT_S,
                iopub_timeout=IOPUB_TIMEOUT_S,
                config=kernel_config(sockets),
                on_step=watch.on_step,
                kernel_output=log_stream,
            )
        except PapermillExecutionError as exc:
            logger.error(str(exc))
            return Execution(cell_error=f"{exc.ename}: {exc.evalue}", error_name=exc.ename)
        except DeadKernelError as exc:
            logger.error(f"the kernel died: {exc}")
            mark_dead_kernel(output)
            return Execution(kernel_died=True)
        except Exception as exc:  # kernel failing to start, timeouts: archived if begun
            logger.error(f"execution stopped: {type(exc).__name__}: {exc}")
            if not output.exists():
                raise
            return Execution(stopped=f"{type(exc).__name__}: {exc}")
    return Execution()
