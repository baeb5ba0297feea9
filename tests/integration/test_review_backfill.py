"""An incident review of a window with a clear SLO breach that no alert reported.

A Prometheus backfilled (promtool) with an hour of history: history p95 0.9 s for the
middle 20 minutes against a 350 ms objective, 0.24 s before and after, and no `ALERTS`
series (the Prometheus that evaluated the rules was not the one holding the history; no
archived plans either). The review of those 20 minutes must fail on a breach check that
names the objective, list the breach with its start and end, chart the series with 20
minutes of context on each side, and say so in a banner that is not PASSED. The SLO
dashboard, over the same window, shows the same numbers.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from _phases_lab import rollbook_run
from _promserver import backfilled_prometheus, private_port
from _slow_history import SLOW_P95, SlowHour, params_yaml

from rollbook import runbook
from rollbook.params import load_params
from rollbook.prom.catalog import concept
from rollbook.prom.client import PromClient
from rollbook.review import WindowReview
from rollbook.review.charts import BREACH_SHADE, WINDOW_SHADE
from rollbook.runbooks import incident
from rollbook.runbooks.slo_dashboard import SloDashboard
from rollbook.verdict import Status, VerdictFailed

P95 = "history_latency_p95_seconds"
OBJECTIVE = "history_latency_p95_seconds <= 0.35"


@pytest.fixture(scope="module")
def hour() -> SlowHour:
    return SlowHour.now()


@pytest.fixture(scope="module")
def prom(hour):
    with backfilled_prometheus(private_port(2), hour.write, start=hour.start, end=hour.end) as s:
        yield s


@pytest.fixture(scope="module")
def params_file(prom, tmp_path_factory):
    path = tmp_path_factory.mktemp("backfill") / "params.yaml"
    path.write_text(params_yaml(prom.url))
    return path


@pytest.fixture
def review(hour, params_file, tmp_path) -> WindowReview:
    """The incident review's window, as the notebook opens it (`-p start -p end`)."""
    start, end = (moment.isoformat() for moment in (hour.slow.start, hour.slow.end))
    return incident.start_review(load_params(params_file), "", start, end, str(tmp_path))


def test_history_holds_the_breach_and_no_alert(prom, hour):
    client = PromClient(prom.url)
    assert client.range("ALERTS", (hour.start, hour.end)).empty
    p95 = client.instant(concept(P95).over(hour.slow.duration), at=hour.slow.end)
    assert p95["value"].iloc[0] == pytest.approx(SLOW_P95)


def test_review_fails_on_the_breach_it_finds_itself(review, hour):
    checks = {c.name: c for c in review.slo_checks()}
    at_every_moment = [c for n, c in checks.items() if OBJECTIVE in n and "every moment" in n]
    assert len(at_every_moment) == 1
    breach = at_every_moment[0]
    assert breach.status is Status.FAIL and breach.blocks
    assert breach.observed.startswith("1 breach(es)")
    assert "breach " in breach.detail and "worst 0.9 s" in breach.detail
    whole = [c for c in checks.values() if c.detail == f"{P95} over {review.window}"]
    assert [(c.status, round(c.observed, 6)) for c in whole] == [(Status.FAIL, SLOW_P95)]
    # the other objectives held: they are judged, not assumed
    others = [c for n, c in checks.items() if P95 not in n and P95 not in c.detail]
    assert len(others) == 4 and {c.status for c in others} == {Status.PASS}

    table = review.breaches()
    assert table["slo"].tolist() == [OBJECTIVE]
    start, end = table["start"].iloc[0], table["end"].iloc[0]
    # the 1-minute rates turn within the first minute; the breach lasts to the window's end
    assert (
        pd.Timestamp(hour.slow.start) < start <= pd.Timestamp(hour.slow.start) + review.rate_range
    )
    assert end == pd.Timestamp(hour.slow.end)
    assert table["worst"].iloc[0] == pytest.approx(SLOW_P95)


def test_review_charts_show_context_on_each_side_and_shade_window_and_breach(review, hour):
    assert review.window.start - review.context.start == timedelta(minutes=20)
    assert review.context.end - review.window.end == timedelta(minutes=20)
    (figure,) = [f for f in incident.slo_charts(review) if "History p95" in f.layout.title.text]
    x = pd.to_datetime(pd.Series([v for trace in figure.data for v in trace.x]), utc=True)
    assert x.min() < pd.Timestamp(hour.slow.start) - timedelta(minutes=15)
    assert x.max() > pd.Timestamp(hour.slow.end) + timedelta(minutes=15)
    shaded = [(s.fillcolor, pd.Timestamp(s.x0), pd.Timestamp(s.x1)) for s in figure.layout.shapes
              if s.type == "rect"]  # fmt: skip
    window = (pd.Timestamp(hour.slow.start), pd.Timestamp(hour.slow.end))
    assert (WINDOW_SHADE["fillcolor"], *window) in shaded
    breaches = [s for s in shaded if s[0] == BREACH_SHADE["fillcolor"]]
    assert len(breaches) == 1 and breaches[0][2] == window[1]


def test_verdict_fails_and_its_banner_counts_no_data_as_no_data(
    review, params_file, tmp_path, monkeypatch
):
    context = {"run_dir": str(tmp_path / "run"), "archive_root": str(tmp_path), "headless": True}
    shown: list[str] = []
    monkeypatch.setattr(runbook, "_display", lambda markup, plain: shown.append(plain))
    rb = runbook.start(params_file, name="incident_review", context=context)
    rb.add_checks(review.slo_checks())
    with pytest.warns(UserWarning, match="database is unreachable"):
        _, _, plan_checks = incident.plans_vs_archived(rb.params, review.output_dir)
    rb.add_checks(plan_checks)
    with pytest.raises(VerdictFailed, match=OBJECTIVE):
        rb.verdict()
    banner = shown[-2]  # then the verdict table
    assert banner.startswith("FAILED: 4 passed, 2 failed, 1 no data (not required): ")
    assert "PASSED" not in banner and OBJECTIVE in banner
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["verdict"] == "failed" and len(results["failing"]) == 2


@pytest.fixture(scope="module")
def notebooks(hour, params_file, tmp_path_factory) -> dict[str, Path]:
    """Both review notebooks run (`rollbook run`) over the slow window: their run folders."""
    start, end = hour.slow.start.isoformat(), hour.slow.end.isoformat()
    runs = {
        "incident_review.ipynb": ["-p", f"start={start}", "-p", f"end={end}"],
        "slo_dashboard.ipynb": ["-p", f"window={start}/{end}"],
    }
    folders = {}
    for notebook, args in runs.items():
        out = tmp_path_factory.mktemp(notebook.removesuffix(".ipynb"))
        done = rollbook_run(notebook, params_file, out, *args)
        assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
        (folders[notebook],) = (p.parent for p in out.glob("*/results.json"))
    return folders


def results_of(folder: Path) -> dict:
    return json.loads((folder / "results.json").read_text())


def test_the_notebook_fails_with_the_breach_on_top(hour, notebooks):
    folder = notebooks["incident_review.ipynb"]
    results = results_of(folder)
    assert results["verdict"] == "failed"
    assert [n for n in results["failing"] if OBJECTIVE in n and "every moment" in n]
    (breach,) = results["data"]["breaches"]
    assert breach["slo"] == OBJECTIVE and breach["end"] == str(pd.Timestamp(hour.slow.end))
    report = (folder / "report.html").read_text()
    assert report.count("<b>FAILED</b>") == 2  # the outcome on top, the verdict cell
    assert "<b>PASSED</b>" not in report and "checks passed" not in report
    assert "4 passed, 2 failed, 1 no data (not required)" in report


def test_both_notebooks_judge_the_objectives_alike(notebooks):
    incident_run, dashboard_run = (results_of(f) for f in notebooks.values())
    assert incident_run["failing"] == dashboard_run["failing"]
    slo = {c["name"]: c for c in dashboard_run["checks"]}
    assert len(slo) == 6
    assert [c for c in incident_run["checks"] if c["name"] in slo] == list(slo.values())


def test_incident_review_and_slo_dashboard_show_the_same_numbers(review, hour):
    board = SloDashboard(review.params, review.requested, output_dir=review.output_dir)
    assert (board.window, board.step, board.rate_range) == (
        review.window,
        review.step,
        review.rate_range,
    )
    for name in (P95, "throughput_rps", "error_ratio"):
        on_board = board.series(concept(name))
        in_review = review.inside(incident.series(review, [name])[name])
        assert not on_board.empty
        pd.testing.assert_frame_equal(on_board, in_review, check_like=True)
    on_board = [(c.name, c.status, c.observed, c.detail) for c in board.slo_checks()]
    in_review = [(c.name, c.status, c.observed, c.detail) for c in review.slo_checks()]
    assert len(on_board) == 6 and on_board == in_review
    pd.testing.assert_frame_equal(board.alerts(), review.alerts())
