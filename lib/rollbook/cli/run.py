"""`rollbook run NOTEBOOK --params FILE [-p name=value ...] [--apply] [--output-dir DIR]`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from rollbook.cli.terminal import verbose_option, watch

if TYPE_CHECKING:
    from rollbook.verdict import Check


def _mode_line(apply: bool, environment: str) -> str:
    if apply:
        return f"APPLY: this run may change {environment}"
    return f"DRY RUN: nothing on {environment} is changed (pass --apply to change it)"


def print_checks(checks: list[Check]) -> None:
    """The verdict table as plain text."""
    from rollbook.verdict import checks_frame

    if checks:
        frame = checks_frame(checks)
        click.echo(frame.drop(columns=["detail"]).to_string(index=False))
    else:
        click.echo("(no checks recorded)")


@click.command("run")
@click.argument("notebook", type=click.Path(path_type=Path))
@click.option(
    "--params", "params_file", required=True, type=click.Path(path_type=Path), help="params YAML"
)
@click.option("-p", "overrides", multiple=True, metavar="NAME=VALUE", help="notebook parameter")
@click.option("--apply", is_flag=True, help="allow steps that change the target")
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path), help="archive root")
@verbose_option
def run_command(
    notebook: Path,
    params_file: Path,
    overrides: tuple[str, ...],
    apply: bool,
    output_dir: Path,
    verbose: bool,
) -> None:
    """Execute NOTEBOOK headlessly and archive it.

    Prints a line for each step as it ends, then the verdict table, the outcome and the
    paths; the last line is `archived in RUN_FOLDER`.

    Exit codes: 0 passed, 1 a check failed or a cell raised, 2 bad input (no kernel
    started), 3 the kernel died, 4 another run of this step holds the lock.
    """
    from rollbook.archive.layout import default_output_dir
    from rollbook.runner import prepare, run

    request = prepare(
        notebook, params_file, list(overrides), apply, output_dir or default_output_dir()
    )
    click.echo(_mode_line(apply, request.params.environment))
    report = run(request, watch(verbose))
    print_checks(report.results.checks)
    click.echo(f"{report.outcome.value.upper()} (exit code {report.exit_code}): {report.reason}")
    click.echo(f"report:  {report.paths.html}")
    click.echo(f"run log: {report.paths.log}")
    click.echo(f"archived in {report.paths.dir}")
    sys.exit(report.exit_code)
