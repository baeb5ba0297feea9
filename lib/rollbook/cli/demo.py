"""`rollbook demo`: the main job on the embedded lab (what `make demo` runs)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from rollbook.archive.layout import default_output_dir
from rollbook.cli.lab import lab_dir_option, print_status
from rollbook.lab.stack import Lab
from rollbook.runner import prepare, run

REPO = Path(__file__).resolve().parents[3]
LAB_PARAMS = REPO / "params" / "lab.yaml"
DEMO_RUNBOOKS = ("00_preflight.ipynb",)


def _say(message: str) -> None:
    click.echo(f"demo: {message}", err=True)


@click.command("demo")
@lab_dir_option
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path), default=None)
def demo_command(lab_dir: Path | None, output_dir: Path | None) -> None:
    """Start the lab, run the runbooks on it, print where each archived run is."""
    lab = Lab.open(lab_dir)
    lab.up(_say)
    print_status(lab, as_json=False)
    os.environ["ROLLBOOK_LAB_DIR"] = str(lab.layout.dir)
    _say("waiting for every Prometheus target and some workload history")
    lab.wait_for_monitoring()
    for name in DEMO_RUNBOOKS:
        _say(f"running {name}")
        request = prepare(
            REPO / "notebooks" / name, LAB_PARAMS, [], False, output_dir or default_output_dir()
        )
        report = run(request, progress=sys.stderr.isatty())
        click.echo(f"{name}: {report.outcome.value.upper()} — {report.reason}")
        click.echo(f"  run folder: {report.paths.dir}")
        click.echo(f"  report:     {report.paths.html}")
        if report.exit_code:
            sys.exit(report.exit_code)
