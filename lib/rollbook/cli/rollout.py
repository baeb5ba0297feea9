"""`rollbook rollout --params FILE [--apply] [--output-dir DIR] [--verbose]`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from rollbook.cli.terminal import verbose_option, watch

if TYPE_CHECKING:
    from rollbook.runner import RunReport


def print_report(name: str, report: RunReport) -> None:
    """One run's outcome, why, and where its archive is."""
    click.echo(f"{name}: {report.outcome.value.upper()} (exit code {report.exit_code})")
    for line in report.reason.splitlines():
        click.echo(f"  {line}")
    click.echo(f"  run folder: {report.paths.dir}")
    click.echo(f"  report:     {report.paths.html}")


def print_verdicts(names: list[str], reports: list[RunReport]) -> None:
    """The rollout's verdict table: each runbook's outcome and its checks counted."""
    from rollbook.verdict import tally

    width = max(len(name) for name in names)
    click.echo("verdict:")
    for index, name in enumerate(names):
        if index < len(reports):
            report = reports[index]
            checks = report.results.checks
            click.echo(f"  {report.outcome.value:<8} {name:<{width}}  {tally(checks)}")
        else:
            click.echo(f"  {'not run':<8} {name}")


def run_rollout(params_file: Path, apply: bool, output_dir: Path | None, verbose: bool) -> int:
    """Run the rollout, printing each archived run; the exit code of the failing run (0)."""
    from rollbook.archive.layout import default_output_dir
    from rollbook.rollout import ROLLOUT_RUNBOOKS, rollout

    names = [n.removesuffix(".ipynb") for n in ROLLOUT_RUNBOOKS]
    mode = "APPLY" if apply else "DRY RUN"
    click.echo(f"rollout ({mode}): {' → '.join(names)}")
    reports = rollout(
        params_file,
        apply=apply,
        output_dir=output_dir or default_output_dir(),
        on_start=lambda name: click.echo(f"running {name} ...", err=True),
        on_report=print_report,
        watch=watch(verbose),
    )
    print_verdicts(names, reports)
    click.echo("each run's full cell log: run.log in its run folder (--verbose prints it)")
    failed = next((r for r in reports if r.exit_code), None)
    if failed is None:
        click.echo(f"rollout complete: {len(reports)} runbooks passed")
        return 0
    name = ROLLOUT_RUNBOOKS[len(reports) - 1]
    click.echo(f"rollout stopped at {name}; later runbooks were not run")
    return failed.exit_code


@click.command("rollout")
@click.option(
    "--params", "params_file", required=True, type=click.Path(path_type=Path), help="params YAML"
)
@click.option("--apply", is_flag=True, help="allow steps that change the target")
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path), help="archive root")
@verbose_option
def rollout_command(params_file: Path, apply: bool, output_dir: Path | None, verbose: bool) -> None:
    """Run preflight and Phases 1-4 in order, stopping at the first failure.

    Each runbook is archived like `rollbook run`; the exit code is the failing run's
    (0 when every runbook passed).
    """
    sys.exit(run_rollout(params_file, apply, output_dir, verbose))
