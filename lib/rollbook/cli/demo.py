"""`rollbook demo`: the main job on the embedded lab (what `make demo` runs)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click

from rollbook.cli.lab import lab_dir_option, print_status
from rollbook.cli.rollout import run_rollout
from rollbook.flags import FlagStore
from rollbook.lab.stack import Lab
from rollbook.phases import cache, pgbouncer, replica_routing

REPO = Path(__file__).resolve().parents[3]
LAB_PARAMS = REPO / "params" / "lab.yaml"
ROLLOUT_FLAGS = (*pgbouncer.FLAGS, *cache.FLAGS, *replica_routing.FLAGS)
BASELINE_SECONDS = 65  # over preflight.BASELINE_MIN_STEADY: a baseline of the seed state


def back_to_seed_flags(lab: Lab) -> list[str]:
    """Set every rollout flag that is on back to 0 %; the names of those changed."""
    with lab.primary.connect(as_app=True) as conn:
        store = FlagStore(conn)
        changed = [name for name in ROLLOUT_FLAGS if store.get(name)]
        for name in changed:
            store.set(name, 0, by="rollbook demo")
    return changed


def _say(message: str) -> None:
    click.echo(f"demo: {message}", err=True)


@click.command("demo")
@lab_dir_option
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path), default=None)
def demo_command(lab_dir: Path | None, output_dir: Path | None) -> None:
    """Start the lab, roll out every phase on it (--apply), print where each archived run is.
    A lab a previous demo rolled out starts again from the seed state's flags."""
    lab = Lab.open(lab_dir)
    lab.up(_say)
    print_status(lab, as_json=False)
    os.environ["ROLLBOOK_LAB_DIR"] = str(lab.layout.dir)
    _say("waiting for every Prometheus target and some workload history")
    lab.wait_for_monitoring()
    reset = back_to_seed_flags(lab)
    if reset:
        _say(
            f"a previous rollout left {', '.join(reset)} on: back to 0 % (the seed state); "
            f"{BASELINE_SECONDS} s of traffic for the preflight's baseline"
        )
        time.sleep(BASELINE_SECONDS)
    _say("running the rollout (preflight, Phases 1-4) with --apply")
    sys.exit(run_rollout(LAB_PARAMS, True, output_dir))
