"""What `rollbook rollout` shows a person: a line per step and ramp step, each run's outcome
and paths, the verdict table; a failure's check and report within the last 20 lines.

The runner is replaced by a fake that reports steps as the kernel would, so the terminal
output is checked without a lab (tests/integration/test_run_archive.py checks a real run).
"""

from pathlib import Path

import pytest
from click.testing import CliRunner

from rollbook import rollout as rollout_module
from rollbook.archive.layout import RunPaths
from rollbook.archive.results import RunResults
from rollbook.cli import main
from rollbook.run_context import StepReport
from rollbook.runner.outcome import Outcome
from rollbook.runner.run import RunReport
from rollbook.verdict import compare, failure_reason, tally

STEPS = [f"step {n}" for n in range(6)]  # about what a runbook has (30 in the rollout)
RAMP_STEPS = ["ramp a.flag 50 %", "ramp a.flag 100 %", "ramp b.flag 50 %", "ramp b.flag 100 %"]
FAILING = "history p95 during the ramps"


def fake_rollout(tmp_path: Path, failing_runbook: str | None):
    def rollout(params_file, *, apply, output_dir, on_start, on_report, watch):
        reports = []
        for name in rollout_module.ROLLOUT_RUNBOOKS:
            on_start(name)
            for step in STEPS:
                if name != rollout_module.ROLLOUT_RUNBOOKS[0]:
                    for ramp_step in RAMP_STEPS if step == "step 3" else []:
                        watch.on_step(StepReport(ramp_step, "ok", 30.0, nested=True))
                watch.on_step(StepReport(step, "ok", 1.5))
            failed = name == failing_runbook
            checks = [compare(f"check {n}", 1, "<", 2) for n in range(15)]
            checks.append(compare(FAILING, 0.4 if failed else 0.1, "<", 0.3, unit="s"))
            outcome, reason = (
                (Outcome.FAILED, failure_reason(checks))
                if failed
                else (Outcome.PASSED, tally(checks))
            )
            paths = RunPaths(tmp_path / f"run-{name.removesuffix('.ipynb')}")
            results = RunResults(checks=checks)
            reports.append(RunReport(paths.run_id, outcome, reason, paths, results))
            on_report(name, reports[-1])
            if failed:
                break
        return reports

    return rollout


def run_rollout(tmp_path, monkeypatch, failing_runbook=None):
    monkeypatch.setattr(rollout_module, "rollout", fake_rollout(tmp_path, failing_runbook))
    args = ["rollout", "--params", "p.yaml", "--apply", "--output-dir", str(tmp_path)]
    return CliRunner().invoke(main, args)


def test_a_passing_rollout_prints_steps_outcomes_paths_and_the_verdict_table(tmp_path, monkeypatch):
    done = run_rollout(tmp_path, monkeypatch)
    assert done.exit_code == 0, done.output
    lines = done.output.splitlines()  # stdout and stderr, as on a terminal
    runbooks = [n.removesuffix(".ipynb") for n in rollout_module.ROLLOUT_RUNBOOKS]
    # header, per runbook: running, 6 steps, outcome, tally, 2 paths; 4 x 4 ramp steps;
    # verdict table (1 + 5), the run log's place, the end
    assert len(lines) == 1 + 5 * 11 + 4 * 4 + 6 + 2
    assert sum(line.startswith("  ok ") and line.endswith("step 3") for line in lines) == 5
    assert sum(line.startswith("    ok ") and "ramp a.flag 50 %" in line for line in lines) == 4
    assert f"  report:     {tmp_path / 'run-00_preflight' / 'report.html'}" in lines
    table = lines[lines.index("verdict:") + 1 :][:5]
    assert [row.split()[:2] for row in table] == [["passed", name] for name in runbooks]
    assert lines[-1] == "rollout complete: 5 runbooks passed"


def test_a_failing_rollout_ends_with_the_failing_check_and_its_report(tmp_path, monkeypatch):
    done = run_rollout(tmp_path, monkeypatch, failing_runbook="03_phase3_redis_cache.ipynb")
    assert done.exit_code == 1, done.output
    last = done.output.splitlines()[-20:]
    assert any(line.strip().startswith(f"{FAILING}: fail, observed 0.4s") for line in last)
    assert f"  report:     {tmp_path / 'run-03_phase3_redis_cache' / 'report.html'}" in last
    rows = [line.split() for line in last]
    assert ["failed", "03_phase3_redis_cache", "15", "passed,", "1", "failed"] in rows
    assert ["not", "run", "04_phase4_replica_routing"] in rows


@pytest.mark.parametrize(
    ("step", "line"),
    [
        (StepReport("baseline EXPLAIN", "ok", 1.234), "  ok         1.2 s  baseline EXPLAIN"),
        (
            StepReport("ramp a.flag 50 %", "failed", 12.0, "rolled back on error_rate\nmore", True),
            "    failed    12.0 s  ramp a.flag 50 %: rolled back on error_rate",
        ),
        (
            StepReport("ramp a.flag 50 %", "failed", 9.0, "rolled back on " + "x" * 200, True),
            "    failed     9.0 s  ramp a.flag 50 %: rolled back on " + "x" * 84 + "…",
        ),
        (
            StepReport("ramp a.flag 50 %", "planned", nested=True),
            "    planned           ramp a.flag 50 %",
        ),
    ],
)
def test_a_step_line_says_status_seconds_and_name(step, line):
    from rollbook.cli.terminal import step_line

    assert step_line(step) == line
