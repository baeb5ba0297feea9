"""`rollbook demo`: the main job on the embedded lab (what `make demo` runs)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from rollbook.cli.lab import lab_dir_option, print_status
from rollbook.cli.rollout import run_rollout
from rollbook.lab.stack import Lab

REPO = Path(__file__).resolve().parents[3]
LAB_PARAMS = REPO / "params" / "lab.yaml"


def _say(message: str) -> None:
    click.echo(f"demo: {message}", err=True)


@click.command("demo")
@lab_dir_option
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path), default=None)
def demo_command(lab_dir: Path | None, output_dir: Path | None) -> None:
    """Start the lab, roll out every phase on it (--apply), print where each archived run is."""
    lab = Lab.open(lab_dir)
    lab.up(_say)
    print_status(lab, as_json=False)
    os.environ["ROLLBOOK_LAB_DIR"] = str(lab.layout.dir)
    _say("waiting for every Prometheus target and some workload history")
    lab.wait_for_monitoring()
    _say("running the rollout (preflight, Phases 1-4) with --apply")
    sys.exit(run_rollout(LAB_PARAMS, True, output_dir))
