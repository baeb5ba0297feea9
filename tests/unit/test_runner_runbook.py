"""The notebook-side API, used in-process as a DBA's JupyterLab session would."""

import json
from functools import partial

import plotly.graph_objects as go
import plotly.io as pio
import pytest

from rollbook import runbook
from rollbook.archive.layout import OUTPUT_DIR_ENV
from rollbook.verdict import VerdictFailed, compare, expect

PARAMS = """\
environment: unit
primary: {host: 127.0.0.1, port: 5432, dbname: chat, user: chat, password: {env: UNIT_PW}}
safety: {apply: true}
"""


@pytest.fixture
def params_file(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text(PARAMS)
    return path


@pytest.fixture
def run_dir(tmp_path):
    return tmp_path / "run"


@pytest.fixture
def start(run_dir):
    """`runbook.start` with the run context `rollbook run` would hand in."""
    context = {"run_dir": str(run_dir), "archive_root": str(run_dir.parent), "headless": True}
    return partial(runbook.start, context=context)


def results(run_dir):
    return json.loads((run_dir / "results.json").read_text())


def test_start_is_a_dry_run_unless_apply_even_if_the_file_says_apply(params_file, run_dir, start):
    rb = start(params_file, name="unit")
    assert rb.apply is False and rb.params.safety.apply is False
    assert start(params_file, name="unit", apply=True).apply is True
    assert pio.renderers.default == runbook.PLOTLY_RENDERER
    assert results(run_dir)["verdict"] == "incomplete"


def test_a_chart_is_kept_once_as_plotly_json_without_plotly_js(params_file, start):
    start(params_file, name="unit")
    bundle = go.Figure(go.Scatter(x=[1, 2], y=[3, 4]))._repr_mimebundle_(None, None)
    assert list(bundle) == ["application/vnd.plotly.v1+json"]
    assert bundle["application/vnd.plotly.v1+json"]["data"][0]["y"] == [3, 4]


def test_steps_are_timed_and_kept_when_they_raise(params_file, run_dir, start):
    rb = start(params_file, name="unit")
    with rb.step("fine"):
        pass
    with pytest.raises(ZeroDivisionError), rb.step("broken"):
        raise ZeroDivisionError("division by zero")
    steps = results(run_dir)["steps"]
    assert [(s["name"], s["status"]) for s in steps] == [("fine", "ok"), ("broken", "error")]
    assert steps[1]["error"] == "ZeroDivisionError: division by zero"
    assert steps[0]["seconds"] >= 0


def test_verdict_passes_and_writes_every_check(params_file, run_dir, start):
    rb = start(params_file, name="unit")
    rb.check(compare("p95", 0.02, "<", 0.05, unit="s"))
    rb.add_checks([expect("index valid", True), expect("optional", None, required=False)])
    rb.verdict()
    written = results(run_dir)
    assert written["verdict"] == "passed"
    assert [c["status"] for c in written["checks"]] == ["pass", "pass", "no data"]


@pytest.mark.parametrize("observed", [0.5, None], ids=["fail", "no data"])
def test_verdict_raises_when_a_required_check_does_not_pass(params_file, run_dir, start, observed):
    rb = start(params_file, name="unit")
    rb.check(compare("p95", observed, "<", 0.05, unit="s"))
    with pytest.raises(VerdictFailed, match="p95"):
        rb.verdict()
    assert results(run_dir)["failing"] == ["p95"]
    assert results(run_dir)["verdict"] == "failed"


def test_interactive_runs_write_under_outputs_interactive(params_file, tmp_path, monkeypatch):
    monkeypatch.setenv(OUTPUT_DIR_ENV, str(tmp_path / "outputs"))
    rb = runbook.start(params_file, name="00_preflight")
    assert rb.run_dir.parent == tmp_path / "outputs" / "interactive"
    assert rb.run_dir.name.split("-")[1:3] == ["00_preflight", "unit"]
    assert (rb.run_dir / "results.json").is_file()
