"""`rollbook run` end to end on a probe notebook: exit codes, the archive files, the reason
on top, a dead kernel, bad input before any kernel, offline charts (Chromium and Firefox
ESR, and JupyterLab), no secret; what the terminal shows (a line per step, the verdict, the
paths) and the cell log in run.log.

A spy kernelspec (first on JUPYTER_PATH) appends a line to a file each time a kernel
starts, which proves that bad input never starts one.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from rollbook.archive.leaks import files_containing
from rollbook.archive.offline import (
    BROWSERS,
    lab_rendered_chart_count,
    rendered_chart_count,
    rendered_dom,
)

PROBE = Path(__file__).parents[1] / "runner_notebooks" / "probe.ipynb"
OLD_RUN = Path(__file__).parents[1] / "fixtures" / "runs" / "20261202T093059Z-probe-fixture-2d391a"
ROLLBOOK = Path(sys.executable).parent / "rollbook"
SECRET = "probe-Secret-7f3a9c"
PLOTLY_MIME = "application/vnd.plotly.v1+json"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("run")
    spec_dir = root / "jupyter" / "kernels" / "rollbook"
    spec_dir.mkdir(parents=True)
    starts = root / "kernel-starts.log"
    argv = [sys.executable, "-Xfrozen_modules=off", "-m", "ipykernel_launcher"]
    spec = {
        "argv": ["/bin/sh", "-c", f'echo start >> {starts}; exec "$0" "$@"', *argv]
        + ["-f", "{connection_file}"],
        "display_name": "rollbook (spy)",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    params = root / "params.yaml"
    params.write_text(
        "environment: runner-test\n"
        "primary: {host: 127.0.0.1, port: 57401, dbname: postgres, user: postgres,\n"
        "          password: {env: ROLLBOOK_PROBE_PASSWORD}}\n"
    )
    env = {**os.environ, "JUPYTER_PATH": str(root / "jupyter"), "ROLLBOOK_PROBE_PASSWORD": SECRET}
    return {"root": root, "out": root / "out", "params": params, "env": env, "starts": starts}


def kernel_starts(ws) -> int:
    return len(ws["starts"].read_text().splitlines()) if ws["starts"].exists() else 0


def rollbook(ws, *args):
    return subprocess.run(
        [str(ROLLBOOK), *args], env=ws["env"], capture_output=True, text=True, timeout=300
    )


def run_probe(ws, *overrides):
    before = kernel_starts(ws)
    args = ["run", str(PROBE), "--params", str(ws["params"]), "--output-dir", str(ws["out"])]
    done = rollbook(ws, *args, *[a for o in overrides for a in ("-p", o)])
    run_dir = Path(done.stdout.strip().splitlines()[-1].removeprefix("archived in "))
    return done, run_dir, kernel_starts(ws) - before


@pytest.fixture(scope="module")
def passed(workspace):
    return run_probe(workspace, "charts=3")


@pytest.fixture(scope="module")
def failed(workspace):
    return run_probe(workspace, "latency_ms=50")


@pytest.fixture(scope="module")
def killed(workspace):
    return run_probe(workspace, "crash=kill")


def first_cell(run_dir: Path) -> str:
    return nbformat.read(run_dir / "notebook.ipynb", as_version=4).cells[0].source


def test_passing_run_exits_0_and_archives_its_files(passed):
    done, run_dir, started = passed
    assert done.returncode == 0, done.stderr
    assert started == 1
    assert done.stdout.startswith("DRY RUN")
    assert sorted(p.name for p in run_dir.iterdir()) == [
        "manifest.json",
        "notebook.ipynb",
        "report.html",
        "results.json",
        "run.log",
    ]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert (manifest["outcome"], manifest["exit_code"], manifest["mode"]) == (
        "passed",
        0,
        "dry-run",
    )
    assert manifest["params"]["primary"]["password"] == {"env": "ROLLBOOK_PROBE_PASSWORD"}
    assert manifest["overrides"] == {"charts": 3}
    results = json.loads((run_dir / "results.json").read_text())
    assert results["verdict"] == "passed"
    assert results["checks"][0]["name"] == "probe latency"
    assert [s["name"] for s in results["steps"]] == ["charts"]
    assert "PASSED" in first_cell(run_dir) and "DRY RUN" in first_cell(run_dir)


def test_archived_notebook_keeps_each_chart_once_as_plotly_json(passed):
    _, run_dir, _ = passed
    nb = nbformat.read(run_dir / "notebook.ipynb", as_version=4)
    outputs = [o.get("data", {}) for c in nb.cells for o in c.get("outputs", [])]
    assert [list(data) for data in outputs if PLOTLY_MIME in data] == [[PLOTLY_MIME]] * 3
    assert not any("plotly" in data.get("text/html", "").lower() for data in outputs)
    assert (run_dir / "notebook.ipynb").stat().st_size < 200_000


@pytest.mark.parametrize("browser", BROWSERS)
def test_archived_html_renders_every_chart_offline(passed, browser):
    _, run_dir, _ = passed
    html = (run_dir / "report.html").read_text()
    assert html.count('type="application/gzip+base64"') == 1  # plotly.js once, compressed
    assert html.count("Copyright 2012-") == 0  # and nowhere in plain text
    assert "<script src=" not in html
    assert len(html) < 2_500_000
    assert rendered_chart_count(run_dir / "report.html", browser=browser) == 3


def test_archived_notebook_draws_every_chart_in_jupyterlab(passed):
    _, run_dir, _ = passed
    assert lab_rendered_chart_count(run_dir / "notebook.ipynb") == 3
    assert lab_rendered_chart_count(OLD_RUN / "notebook.ipynb") == 2  # archived before


@pytest.mark.parametrize("browser", BROWSERS)
def test_a_browser_that_cannot_unpack_plotly_js_says_so(passed, tmp_path, browser):
    _, run_dir, _ = passed
    html = (run_dir / "report.html").read_text()
    without = "<head><script>delete window.DecompressionStream;</script>"
    (tmp_path / "old-browser.html").write_text(html.replace("<head>", without, 1))
    dom = rendered_dom(tmp_path / "old-browser.html", browser=browser)
    said = r'<div class="rollbook-chart rollbook-chart-missing"[^>]*>Chart not drawn: this browser'
    assert len(re.findall(said, dom)) == 3
    assert "js-plotly-plot" not in dom


def test_failing_check_exits_1_with_the_reason_on_top(failed):
    done, run_dir, _ = failed
    assert done.returncode == 1
    reason = "probe latency: fail, observed 50.0ms, threshold &lt; 10"
    assert any(line.startswith("FAILED (exit code 1)") for line in done.stdout.splitlines())
    assert reason in first_cell(run_dir)
    html = (run_dir / "report.html").read_text()
    assert html.index(reason) < html.index("Runner probe") < html.index("rb.verdict()")


STEP_LINE = re.compile(r"  (ok|failed) +\d+\.\d s  \S.*")


def test_terminal_shows_each_step_then_the_verdict_and_the_paths(passed):
    done, run_dir, _ = passed
    out, err = done.stdout.splitlines(), done.stderr.splitlines()
    assert len(out) + len(err) <= 10
    assert [line for line in err if not STEP_LINE.fullmatch(line)] == []  # nothing else
    assert [line.split()[-1] for line in err] == ["charts"]
    verdict = out[1:-4]
    assert verdict[0].split() == ["name", "status", "observed", "threshold", "unit", "required"]
    assert verdict[1].split()[:3] == ["probe", "latency", "pass"]
    assert out[-4:] == [
        "PASSED (exit code 0): 1 passed",
        f"report:  {run_dir / 'report.html'}",
        f"run log: {run_dir / 'run.log'}",
        f"archived in {run_dir}",
    ]
    assert "without encryption" not in done.stdout + done.stderr


def test_run_log_keeps_the_cell_log(passed):
    _, run_dir, _ = passed
    log = (run_dir / "run.log").read_text()
    cells = len(nbformat.read(run_dir / "notebook.ipynb", as_version=4).cells) - 1  # - banner
    assert log.count("INFO Executing Cell ") == log.count("INFO Ending Cell ") == cells
    assert "INFO DRY RUN: nothing on runner-test is changed" in log  # a cell's text output
    assert re.search(r"probe latency +pass +5\.0", log)  # the verdict table, as text


def test_a_failing_run_ends_with_the_failing_check_and_the_report(failed):
    done, run_dir, _ = failed
    last = done.stdout.splitlines()[-20:]  # stdout comes last: the terminal's last lines
    assert any(line.startswith("probe latency: fail, observed 50.0ms") for line in last)
    assert f"report:  {run_dir / 'report.html'}" in last
    assert [line.split()[0] for line in done.stderr.splitlines()] == ["ok"]  # charts
    assert "VerdictFailed: required checks did not pass" in (run_dir / "run.log").read_text()


def test_dead_kernel_is_reported_and_archived(killed):
    done, run_dir, _ = killed
    assert done.returncode == 3
    assert "KERNEL DIED" in done.stdout
    nb = nbformat.read(run_dir / "notebook.ipynb", as_version=4)
    assert "KERNEL DIED" in nb.cells[0].source
    errors = [o.ename for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert errors == ["DeadKernelError"]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["outcome"] == "kernel died"
    assert "KERNEL DIED" in (run_dir / "report.html").read_text()


def test_bad_override_exits_2_before_any_kernel_starts(workspace, passed):
    assert passed[2] == 1  # the spy does record kernel starts
    runs_before = sorted(workspace["out"].iterdir())
    before = kernel_starts(workspace)
    args = ["run", str(PROBE), "--params", str(workspace["params"])]
    done = rollbook(workspace, *args, "--output-dir", str(workspace["out"]), "-p", "latency=3")
    assert done.returncode == 2
    assert "override latency: the notebook does not declare it" in done.stderr
    assert kernel_starts(workspace) == before
    assert sorted(workspace["out"].iterdir()) == runs_before


def test_runs_lists_and_shows_archived_runs(workspace, passed, failed):
    out = ["--output-dir", str(workspace["out"])]
    listed = rollbook(workspace, "runs", "--verdict", "failed", "--json", *out)
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [r["run_id"] for r in rows] == [failed[1].name]
    shown = rollbook(workspace, "runs", "show", passed[1].name[-6:], *out)
    assert shown.returncode == 0
    assert shown.stdout.startswith("PASSED (exit code 0)")
    assert "probe latency" in shown.stdout


def test_no_secret_in_any_archived_file(workspace, passed, failed, killed):
    assert len(list(workspace["out"].glob("*/report.html"))) == 3
    assert files_containing(workspace["out"], SECRET) == []
