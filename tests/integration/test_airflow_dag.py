"""The nightly DAG (deploy/airflow) under real Apache Airflow (`.venv-airflow`, installed by
`make test`): the DAG file loads in a `DagBag` without import errors, and `dag.test()` runs
the post-rollout validation of two clusters on the test lab, one `rollbook run` task per
params file, each task's state following its run's exit code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml
from test_validation_runbook import archive  # noqa: F401  (fixture: the rolled-out archive)

REPO = Path(__file__).resolve().parents[2]
LAB_PARAMS = REPO / "params" / "lab.yaml"
AIRFLOW_PYTHON = REPO / ".venv-airflow" / "bin" / "python"
DAG_ID = "rollbook_nightly_validation"
CAPACITY = "connection capacity (PgBouncer max_client_conn)"


def cluster_params(folder: Path, name: str, **validation) -> Path:
    """params/lab.yaml as cluster `name` (its task: `validate_<name>`), with a short
    pagination walk and `validation` edits."""
    data = yaml.safe_load(LAB_PARAMS.read_text())
    data["validation"].update(pagination_max_rows=200, **validation)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def airflow_dag_test(tmp_path: Path, params_files: list[Path], output_dir: Path) -> dict:
    """Load deploy/airflow in a DagBag and `dag.test()` the nightly DAG; the report."""
    assert AIRFLOW_PYTHON.exists(), "no Apache Airflow: make .venv-airflow/.installed"
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path / "airflow"),  # SQLite metadata database in here
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW_VAR_ROLLBOOK_PARAMS_FILES": json.dumps([str(p) for p in params_files]),
        "AIRFLOW_VAR_ROLLBOOK_OUTPUT_DIR": str(output_dir),
        "AIRFLOW_VAR_ROLLBOOK_HOME": str(REPO),
        # the DAG file imports rollbook.schedule; its tasks run this venv's `rollbook`
        "PYTHONPATH": str(REPO / "lib"),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
    }
    report = tmp_path / "report.json"
    script = REPO / "tests" / "integration" / "_airflow_dag.py"
    command = [AIRFLOW_PYTHON, script, REPO / "deploy" / "airflow", DAG_ID, report]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=840)
    assert done.returncode == 0, (done.stdout + done.stderr)[-5000:]
    return json.loads(report.read_text())


def archived_runs(output_dir: Path, params_files: list[Path]) -> dict[str, dict]:
    """`{params file stem: manifest and results}` of the runs of those params files."""
    runs = {}
    wanted = {str(p.absolute()): p.stem for p in params_files}
    for manifest_file in output_dir.glob("*/manifest.json"):
        manifest = json.loads(manifest_file.read_text())
        if manifest["params_file"] in wanted:
            results = json.loads((manifest_file.parent / "results.json").read_text())
            runs[wanted[manifest["params_file"]]] = {**manifest, "results": results}
    return runs


def test_nightly_dag_under_airflow_fails_only_the_failing_cluster(archive, tmp_path):  # noqa: F811
    params_files = [
        cluster_params(tmp_path, "meets_criteria"),
        cluster_params(tmp_path, "too_few_connections", min_client_connections=100_000),
    ]
    report = airflow_dag_test(tmp_path, params_files, archive)
    assert report["import_errors"] == {} and report["dags"] == [DAG_ID]
    assert report["tasks"] == {
        "validate_meets_criteria": "success",
        "validate_too_few_connections": "failed",
    }
    runs = archived_runs(archive, params_files)
    assert {name: run["exit_code"] for name, run in runs.items()} == {
        "meets_criteria": 0,
        "too_few_connections": 1,
    }
    assert runs["too_few_connections"]["results"]["failing"] == [CAPACITY]
    assert all(run["overrides"] == {"window": "24h"} for run in runs.values())
