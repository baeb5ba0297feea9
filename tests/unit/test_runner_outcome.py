"""Outcome of a run, exit codes and the banner that puts the reason on top."""

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from rollbook.archive.results import RunResults
from rollbook.runner.execute import Execution, mark_dead_kernel
from rollbook.runner.outcome import (
    BANNER_TAG,
    EXIT_CODES,
    Outcome,
    banner_markup,
    decide,
    insert_banner,
)

FAILED_CHECK = {"name": "p95", "status": "fail", "observed": 0.5, "threshold": "< 0.3", "unit": "s"}
PASSED_CHECK = {"name": "p95", "status": "pass", "observed": 0.1, "threshold": "< 0.3"}
NO_DATA_CHECK = {"name": "plans", "status": "no data", "required": False}


@pytest.fixture
def notebook(tmp_path):
    cells = [new_code_cell("x = 1"), new_code_cell("rb.verdict()"), new_code_cell("done = 1")]
    cells[0].metadata["papermill"] = {"start_time": "t0"}
    cells[1].metadata["papermill"] = {"start_time": "t1"}
    cells[2].metadata["papermill"] = {"start_time": None}
    path = tmp_path / "nb.ipynb"
    nbformat.write(new_notebook(cells=cells), path)
    return path


@pytest.mark.parametrize(
    ("execution", "results", "outcome", "reason"),
    [
        (Execution(), {"verdict": "passed", "checks": []}, Outcome.FAILED, "no checks"),
        (
            Execution(),
            {"verdict": "passed", "checks": [PASSED_CHECK, NO_DATA_CHECK]},
            Outcome.PASSED,
            "1 passed, 1 no data (not required)",
        ),
        (
            Execution(cell_error="VerdictFailed: x", error_name="VerdictFailed"),
            {"verdict": "failed", "checks": [FAILED_CHECK]},
            Outcome.FAILED,
            "p95: fail, observed 0.5s, threshold < 0.3",
        ),
        (
            Execution(cell_error="LockBusy: held by pid 7", error_name="LockBusy"),
            {"verdict": "incomplete"},
            Outcome.BUSY,
            "held by pid 7",
        ),
        (Execution(), {"verdict": "incomplete"}, Outcome.ERROR, "without reaching its verdict"),
        (Execution(kernel_died=True), {}, Outcome.KERNEL_DIED, "kernel died"),
    ],
)
def test_decide(notebook, execution, results, outcome, reason):
    got, why = decide(execution, RunResults.model_validate(results), notebook)
    assert got is outcome
    assert reason in why


def test_exit_codes_distinguish_failure_from_a_dead_kernel():
    assert EXIT_CODES[Outcome.PASSED] == 0
    assert EXIT_CODES[Outcome.FAILED] == EXIT_CODES[Outcome.ERROR] == 1
    assert EXIT_CODES[Outcome.KERNEL_DIED] == 3


def test_dead_kernel_marks_the_cell_that_was_running(notebook):
    assert mark_dead_kernel(notebook) == 1
    nb = nbformat.read(notebook, as_version=4)
    assert nb.cells[1].outputs[-1].ename == "DeadKernelError"
    assert nb.cells[1].metadata.papermill["status"] == "failed"
    got, why = decide(Execution(kernel_died=True), RunResults(), notebook)
    assert "cell 2 ('rb.verdict()')" in why


def test_banner_goes_first_and_replaces_an_older_one(notebook):
    insert_banner(notebook, banner_markup(Outcome.PASSED, "ok", apply=False, run_id="r1"))
    insert_banner(notebook, banner_markup(Outcome.FAILED, "p95 < 0.3", apply=True, run_id="r1"))
    nb = nbformat.read(notebook, as_version=4)
    banners = [c for c in nb.cells if BANNER_TAG in c.metadata.get("tags", [])]
    assert len(banners) == 1 and nb.cells[0] is banners[0]
    assert "FAILED" in nb.cells[0].source and "APPLY" in nb.cells[0].source
