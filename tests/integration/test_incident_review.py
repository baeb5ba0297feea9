"""An injected fault (replica replay paused) seen twice: the validation fails on replica
staleness while it lasts, and the incident review over its window shows the alert, the
replica lag series and the runs of that window, with every chart drawn offline."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nbformat
import pytest
from _phases_lab import rollbook_run

from rollbook.archive.offline import BROWSERS, rendered_chart_count
from rollbook.prom.client import PromClient

LAB_PARAMS = Path(__file__).resolve().parents[2] / "params" / "lab.yaml"
ALERT = "ReplicaBreakerOpen"
PLOTLY_MIME = "application/vnd.plotly.v1+json"


def run_dir(done) -> Path:
    return Path(done.stdout.strip().splitlines()[-1].removeprefix("archived in "))


def wait_for_alert(params, name: str, timeout: float = 240) -> bool:
    client = PromClient.from_params(params)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not client.instant(f'ALERTS{{alertname="{name}",alertstate="firing"}}').empty:
            return True
        time.sleep(5)
    return False


@pytest.fixture(scope="module")
def fault(lab, lab_params, rollout):
    """On the rolled-out lab, replay paused on the replica until the breaker alert fires;
    a validation run inside."""
    out = rollout.output_dir
    began = datetime.now(UTC)
    with lab.replica.connect() as conn:
        conn.execute("SELECT pg_wal_replay_pause()")
    try:
        validation = rollbook_run("05_post_rollout_validation.ipynb", LAB_PARAMS, out)
        fired = wait_for_alert(lab_params, ALERT)
    finally:
        with lab.replica.connect() as conn:
            conn.execute("SELECT pg_wal_replay_resume()")
    ended = datetime.now(UTC) + timedelta(seconds=10)
    time.sleep(10)
    review = rollbook_run(
        "incident_review.ipynb",
        LAB_PARAMS,
        out,
        "-p",
        f"start={began - timedelta(minutes=1):%Y-%m-%dT%H:%M:%S+00:00}",
        "-p",
        f"end={ended:%Y-%m-%dT%H:%M:%S+00:00}",
        "-p",
        f"alert={ALERT}",
    )
    return {"validation": validation, "fired": fired, "review": review}


def test_validation_fails_on_replica_staleness_during_the_fault(fault):
    done = fault["validation"]
    assert done.returncode == 1
    results = json.loads((run_dir(done) / "results.json").read_text())
    assert "replica staleness: marker visible on the replica after" in results["failing"]


def test_review_shows_the_alert_the_series_and_the_runs(fault):
    assert fault["fired"], f"{ALERT} never fired"
    done = fault["review"]
    assert done.returncode == 0, done.stdout[-2000:]
    results = json.loads((run_dir(done) / "results.json").read_text())
    assert ALERT in results["data"]["alerts"]
    validation_run = run_dir(fault["validation"]).name
    assert validation_run in results["data"]["runs"]
    html = (run_dir(done) / "report.html").read_text()
    assert "Replica replay lag" in html and "Replica circuit breaker" in html
    assert f"../{validation_run}/report.html" in html


def test_review_html_draws_every_chart_offline(fault):
    folder = run_dir(fault["review"])
    nb = nbformat.read(folder / "notebook.ipynb", as_version=4)
    figures = sum(PLOTLY_MIME in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    assert figures >= 1
    html = (folder / "report.html").read_text()
    assert html.count("* plotly.js v") == 1 and "<script src=" not in html
    drawn = {b: rendered_chart_count(folder / "report.html", browser=b) for b in BROWSERS}
    assert drawn == {b: figures for b in BROWSERS}
