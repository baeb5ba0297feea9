"""What `rollbook run`, `rollout` and `demo` show a person while runbooks run: one line for
each step and ramp step as it ends, on stderr (above papermill's progress bar on a
terminal, plain lines otherwise); the verdict and the paths follow on stdout. Each run's
full cell log is its `run.log`; `--verbose` prints it on stderr too (and shows no bar).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from rollbook.run_context import StepReport
    from rollbook.runner import Watch

verbose_option = click.option(
    "--verbose", "-v", is_flag=True, help="print every cell's log too (it is in run.log)"
)


DETAIL_CHARS = 100  # of why a step failed; the whole reason is in the report and run.log


def step_line(step: StepReport) -> str:
    """`  ok        1.2 s  baseline EXPLAIN`; ramp steps indented under their step, a failed
    one followed by the start of its reason."""
    seconds = "" if step.seconds is None else f"{step.seconds:.1f} s"
    indent = "    " if step.nested else "  "
    line = f"{indent}{step.status:<7} {seconds:>8}  {step.name}"
    detail = step.detail.strip().splitlines()[0] if step.detail.strip() else ""
    if len(detail) > DETAIL_CHARS:
        detail = detail[: DETAIL_CHARS - 1] + "…"
    return f"{line}: {detail}" if detail else line


def print_step(step: StepReport) -> None:
    """A step line on stderr, written above the progress bar when there is one."""
    from tqdm import tqdm

    tqdm.write(step_line(step), file=sys.stderr)
    sys.stderr.flush()  # in order with stdout when stderr is not line-buffered


def watch(verbose: bool) -> Watch:
    """Step lines, a progress bar on a terminal unless `verbose`, the cell log if `verbose`."""
    from rollbook.runner import Watch

    return Watch(bar=sys.stderr.isatty() and not verbose, verbose=verbose, on_step=print_step)
