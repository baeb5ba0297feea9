"""`rollbook demo`: the main job on the embedded lab (what `make demo` runs)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click

from rollbook.cli.lab import lab_dir_option, print_status
from rollbook.cli.rollout import run_rollout
from rollbook.cli.terminal import verbose_option


def _say(message: str) -> None:
    click.echo(f"demo: {message}", err=True)


@click.command("demo")
@lab_dir_option
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path), default=None)
@verbose_option
def demo_command(lab_dir: Path | None, output_dir: Path | None, verbose: bool) -> None:
    """Start the lab, roll out every phase on it (--apply), print where each archived run is.
    A lab a previous demo rolled out starts again from the seed state's flags."""
    from rollbook import resources
    from rollbook.flags import FlagStore
    from rollbook.lab.stack import Lab
    from rollbook.rollout import flags_back_to_seed
    from rollbook.runbooks.preflight import BASELINE_MIN_STEADY

    lab = Lab.open(lab_dir)
    lab.up(_say)
    print_status(lab, as_json=False)
    os.environ["ROLLBOOK_LAB_DIR"] = str(lab.layout.dir)
    _say("waiting for every Prometheus target and some workload history")
    lab.wait_for_monitoring()
    with lab.primary.connect(as_app=True) as conn:
        reset = flags_back_to_seed(FlagStore(conn), by="rollbook demo")
    if reset:
        # a little over the preflight's minimum steady time: its baseline is the seed state's
        baseline_seconds = round(BASELINE_MIN_STEADY.total_seconds()) + 5
        _say(
            f"a previous rollout left {', '.join(reset)} on: back to 0 % (the seed state); "
            f"{baseline_seconds} s of traffic for the preflight's baseline"
        )
        time.sleep(baseline_seconds)
    _say("running the rollout (preflight, Phases 1-4) with --apply")
    sys.exit(run_rollout(resources.lab_params(), True, output_dir, verbose))
