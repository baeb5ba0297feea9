"""One shape for every step: `rb.show(result)` puts its checks in the verdict, its data in
results.json and its charts on screen, and hands the table back to the cell."""

import json

import pandas as pd
import pytest

from rollbook import runbook
from rollbook.step import StepResult
from rollbook.verdict import compare

PARAMS = """\
environment: unit
primary: {host: 127.0.0.1, port: 5432, dbname: chat, user: chat, password: {env: UNIT_PW}}
"""


class Figure:
    def __init__(self) -> None:
        self.shown = 0

    def show(self) -> None:
        self.shown += 1


@pytest.fixture
def rb(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text(PARAMS)
    context = {"run_dir": str(tmp_path / "run"), "archive_root": str(tmp_path), "headless": True}
    return runbook.start(path, name="unit", context=context)


def test_show_records_checks_data_and_charts_and_returns_the_table(rb):
    table = pd.DataFrame({"concept": ["p95"], "value": [0.2]})
    figure = Figure()
    check = compare("p95 under the objective", 0.2, "<", 0.3)
    result = StepResult(table, [check], [figure], {"baseline": {"p95": 0.2}})
    assert rb.show(result) is table
    assert rb.checks == [check] and figure.shown == 1
    written = json.loads((rb.run_dir / "results.json").read_text())
    assert written["data"]["baseline"] == {"p95": 0.2}
    assert [c["name"] for c in written["checks"]] == ["p95 under the objective"]


def test_a_step_without_checks_or_data_adds_none(rb):
    rb.show(StepResult(pd.DataFrame()))
    assert rb.checks == [] and rb.data == {}
