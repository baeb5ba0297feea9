"""papermill's nbclient engine, plus what `rollbook run` needs from the kernel: the steps it
reports (the `rollbook.progress` comm, `rollbook.run_context`) handed to the runner, and
the kernel process's own output sent to the run log instead of the terminal.

Registered with papermill as the engine `rollbook` (`papermill.execute_notebook(...,
engine_name=ENGINE_NAME, on_step=..., kernel_output=...)`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, Any

from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines
from papermill.log import logger

from rollbook.run_context import PROGRESS_COMM, StepReport

ENGINE_NAME = "rollbook"


class _StepListener:
    """nbclient hands it each message the kernel sends on the progress comm."""

    def __init__(self, on_step: Callable[[StepReport], None]) -> None:
        self.on_step = on_step

    def handle_msg(self, msg: dict[str, Any]) -> None:
        try:
            step = StepReport(**msg["content"]["data"])
        except TypeError as exc:  # a kernel of another rollbook version
            logger.warning(f"step report not understood: {exc}")
            return
        self.on_step(step)


class StepReportingClient(PapermillNotebookClient):  # type: ignore[misc]  # papermill is untyped
    """papermill's notebook client, acting as the frontend of the progress comm."""

    def __init__(self, nb_man: Any, *, on_step: Callable[[StepReport], None], **kw: Any) -> None:
        super().__init__(nb_man, **kw)
        self.comm_open_handlers[PROGRESS_COMM] = lambda msg: _StepListener(on_step)


class RollbookEngine(NBClientEngine):  # type: ignore[misc]  # papermill is untyped
    """papermill's nbclient engine with `StepReportingClient`; the kernel's stdout and
    stderr (its own logging, not the cells' output) go to `kernel_output`."""

    @classmethod
    def execute_managed_notebook(
        cls,
        nb_man: Any,
        kernel_name: str,
        *,
        on_step: Callable[[StepReport], None],
        kernel_output: IO[str],
        log_output: bool = False,
        start_timeout: int = 60,
        **kwargs: Any,
    ) -> Any:
        kwargs.pop("input_path", None)
        client = StepReportingClient(
            nb_man,
            on_step=on_step,
            kernel_name=kernel_name,
            log=logger,
            log_output=log_output,
            startup_timeout=start_timeout,
            **kwargs,
        )
        return client.execute(stdout=kernel_output, stderr=kernel_output)


papermill_engines.register(ENGINE_NAME, RollbookEngine)
