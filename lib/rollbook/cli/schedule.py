"""`rollbook fan-out NOTEBOOK --params A.yaml --params B.yaml ...`: one run per params file."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from rollbook.schedule import aggregate_exit_code, fan_out


@click.command("fan-out")
@click.argument("notebook", type=click.Path(path_type=Path))
@click.option(
    "--params",
    "params_files",
    multiple=True,
    required=True,
    type=click.Path(path_type=Path),
    help="params YAML (repeat per cluster)",
)
@click.option("-p", "overrides", multiple=True, metavar="NAME=VALUE", help="notebook parameter")
@click.option("--max-parallel", default=2, show_default=True, help="runs at the same time")
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path), help="archive root")
def fan_out_command(notebook, params_files, overrides, max_parallel, output_dir) -> None:
    """Run NOTEBOOK once per params file (e.g. the nightly validation of every cluster).

    Exits 0 when every run passed, else with the highest exit code of the runs.
    """
    from rollbook.archive.layout import default_output_dir

    try:
        results = fan_out(
            notebook,
            params_files,
            output_dir or default_output_dir(),
            overrides,
            max_parallel=max_parallel,
        )
    except (ValueError, FileNotFoundError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    for result in results:
        click.echo(
            f"{result.exit_code}  {result.seconds:>7.1f}s  {result.params_file}  {result.last_line}"
        )
    sys.exit(aggregate_exit_code(results))
