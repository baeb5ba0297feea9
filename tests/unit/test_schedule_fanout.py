"""Fan-out of a runbook over params files: commands, concurrency limit, aggregated exit
code, the CLI, and the Airflow DAG file built against a stand-in `airflow` package."""

from __future__ import annotations

import importlib.util
import shlex
import sys
import threading
import types
from pathlib import Path

import pytest
from click.testing import CliRunner

from rollbook.cli import main
from rollbook.schedule import aggregate_exit_code, fan_out, run_command
from rollbook.schedule.fanout import FanOutResult

DAG_FILE = Path(__file__).resolve().parents[2] / "deploy" / "airflow" / "rollbook_nightly_dag.py"


@pytest.fixture
def params_files(tmp_path):
    files = []
    for name in ("eu", "us", "asia"):
        path = tmp_path / f"{name}.yaml"
        path.write_text("environment: x\n")
        files.append(path)
    return files


def test_run_command_is_rollbook_run_with_overrides():
    command = run_command("nb.ipynb", "eu.yaml", "/out", ["window=24h"], rollbook="rollbook")
    assert command == [
        "rollbook",
        "run",
        "nb.ipynb",
        "--params",
        "eu.yaml",
        "--output-dir",
        "/out",
        "-p",
        "window=24h",
    ]


def test_run_command_rejects_an_override_without_value():
    with pytest.raises(ValueError, match="NAME=VALUE"):
        run_command("nb.ipynb", "eu.yaml", "/out", ["window"])


def test_fan_out_runs_each_file_within_the_concurrency_limit(params_files):
    running, peak, lock = [0], [0], threading.Lock()
    two_at_once = threading.Event()

    def execute(command):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
            if running[0] == 2:
                two_at_once.set()
        two_at_once.wait(timeout=10)  # each run lasts until two have overlapped
        with lock:
            running[0] -= 1
        code = 1 if command[command.index("--params") + 1].endswith("us.yaml") else 0
        return code, f"archived in {command[command.index('--params') + 1]}"

    results = fan_out("nb.ipynb", params_files, "/out", max_parallel=2, execute=execute)
    assert [Path(r.params_file).name for r in results] == ["eu.yaml", "us.yaml", "asia.yaml"]
    assert [r.exit_code for r in results] == [0, 1, 0]
    assert peak[0] == 2
    assert aggregate_exit_code(results) == 1


def test_aggregate_exit_code_is_the_worst_run():
    result = lambda code: FanOutResult("p.yaml", code, 1.0, "")  # noqa: E731
    assert aggregate_exit_code([result(0), result(0)]) == 0
    assert aggregate_exit_code([result(0), result(4), result(1)]) == 4


def test_fan_out_names_missing_params_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.yaml"):
        fan_out("nb.ipynb", [tmp_path / "nope.yaml"], tmp_path)
    with pytest.raises(ValueError, match="max_parallel"):
        fan_out("nb.ipynb", [tmp_path], tmp_path, max_parallel=0)


def test_cli_fan_out_exits_with_the_worst_code(tmp_path, params_files, monkeypatch):
    fake = tmp_path / "rollbook"
    fake.write_text(
        '#!/bin/sh\ncase "$*" in *us.yaml*) echo "FAILED"; exit 1;; esac\n'
        'echo "archived in somewhere"\n'
    )
    fake.chmod(0o755)
    monkeypatch.setattr("rollbook.schedule.fanout.ROLLBOOK", str(fake))
    args = ["fan-out", "nb.ipynb", "--output-dir", str(tmp_path / "out")]
    args += [a for p in params_files for a in ("--params", str(p))]
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 1, done.output
    lines = done.output.splitlines()
    assert len(lines) == 3 and lines[1].startswith("1 ") and "FAILED" in lines[1]
    assert "archived in somewhere" in lines[0]


def _stand_in_airflow(monkeypatch, variables: dict) -> list:
    """A minimal `airflow` package: DAG as a context manager collecting BashOperators."""
    created = []

    class DAG:
        current = None

        def __init__(self, **kwargs):
            self.kwargs, self.tasks = kwargs, []

        def __enter__(self):
            DAG.current = self
            return self

        def __exit__(self, *exc):
            DAG.current = None

    class BashOperator:
        def __init__(self, task_id, bash_command, cwd=None):
            self.task_id, self.bash_command, self.cwd = task_id, bash_command, cwd
            DAG.current.tasks.append(self)
            created.append(self)

    class Variable:
        @staticmethod
        def get(name, deserialize_json=False, default_var=None):
            return variables.get(name, default_var)

    modules = {
        "airflow": types.ModuleType("airflow"),
        "airflow.models": types.ModuleType("airflow.models"),
        "airflow.operators": types.ModuleType("airflow.operators"),
        "airflow.operators.bash": types.ModuleType("airflow.operators.bash"),
    }
    modules["airflow"].DAG = DAG
    modules["airflow.models"].Variable = Variable
    modules["airflow.operators.bash"].BashOperator = BashOperator
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    return created


def test_airflow_dag_has_one_rollbook_run_task_per_params_file(monkeypatch):
    files = ["/etc/rollbook/eu.yaml", "/etc/rollbook/us-east 1.yaml"]
    tasks = _stand_in_airflow(
        monkeypatch, {"rollbook_params_files": files, "rollbook_output_dir": "/archive"}
    )
    spec = importlib.util.spec_from_file_location("rollbook_nightly_dag", DAG_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.dag.kwargs["max_active_tasks"] == module.MAX_PARALLEL
    assert [t.task_id for t in module.dag.tasks] == ["validate_eu", "validate_us-east_1"]
    command = shlex.split(tasks[1].bash_command)
    assert command[:3] == [
        "rollbook",
        "run",
        "/opt/rollbook/notebooks/05_post_rollout_validation.ipynb",
    ]
    assert command[3:] == ["--params", files[1], "--output-dir", "/archive", "-p", "window=24h"]
