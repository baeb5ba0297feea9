"""`rollbook demo`: the main job on the embedded lab (what `make demo` runs)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
import requests

from rollbook.archive.layout import default_output_dir
from rollbook.cli.lab import lab_dir_option, print_status
from rollbook.lab import process
from rollbook.lab.stack import Lab
from rollbook.runner import prepare, run

REPO = Path(__file__).resolve().parents[3]
LAB_PARAMS = REPO / "params" / "lab.yaml"
DEMO_RUNBOOKS = ("00_preflight.ipynb",)
WARM_UP_SECONDS = 20


def _say(message: str) -> None:
    click.echo(f"demo: {message}", err=True)


def wait_for_monitoring(lab: Lab, timeout: float = 60) -> None:
    """Every Prometheus target up, and some workload history to compare against."""
    api = f"http://127.0.0.1:{lab.layout.ports['prometheus']}/api/v1"

    def ready() -> bool:
        try:
            targets = requests.get(f"{api}/targets", timeout=5).json()["data"]["activeTargets"]
            samples = requests.get(
                f"{api}/query",
                params={"query": f"count_over_time(chat_requests_total[{WARM_UP_SECONDS}s])"},
                timeout=5,
            ).json()["data"]["result"]
        except (requests.RequestException, KeyError, ValueError):
            return False
        warmed = any(float(s["value"][1]) >= WARM_UP_SECONDS / 2 - 1 for s in samples)
        return bool(targets) and all(t["health"] == "up" for t in targets) and warmed

    process.wait_for(ready, timeout, "Prometheus targets and workload history", interval=1)


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
    wait_for_monitoring(lab)
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
