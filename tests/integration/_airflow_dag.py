"""Run by Apache Airflow's own interpreter (`.venv-airflow`, see the Makefile), not by pytest.

Creates the SQLite metadata database in $AIRFLOW_HOME, loads the DAGs folder in a `DagBag`,
runs one DAG once with `dag.test()` and writes REPORT (JSON): the DagBag's import errors and
each task's final state. The DAG reads its Airflow Variables from `AIRFLOW_VAR_*`.

    python _airflow_dag.py DAGS_FOLDER DAG_ID REPORT
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def main(dags_folder: str, dag_id: str, report_file: str) -> None:
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True)
    from airflow.models import DagBag

    dagbag = DagBag(dag_folder=dags_folder, include_examples=False)
    report = {"import_errors": dagbag.import_errors, "dags": dagbag.dag_ids, "tasks": {}}
    if dag_id in dagbag.dag_ids:
        run = dagbag.get_dag(dag_id).test()
        report["tasks"] = {ti.task_id: ti.state for ti in run.get_task_instances()}
    Path(report_file).write_text(json.dumps(report, default=str))


if __name__ == "__main__":
    main(*sys.argv[1:])
