"""Apache Airflow DAG: the nightly post-rollout validation of every cluster.

One task per params file, each the ordinary `rollbook run` command built by
`rollbook.schedule.run_command` (its own kernel, advisory lock and archive folder), so a
failed check fails that cluster's task (non-zero exit) and nothing else. `max_active_tasks`
limits how many clusters are validated at once.

Install: put this file in the DAGs folder of an Airflow whose workers have rollbook
installed (`pip install rollbook`), and set the Airflow Variables
- `rollbook_params_files`: JSON list of params files, e.g. `["/etc/rollbook/eu.yaml", ...]`
- `rollbook_output_dir`: the archive root (default /var/lib/rollbook/outputs)
- `rollbook_home`: the checkout holding notebooks/ (default /opt/rollbook).
Airflow is not a dependency of rollbook; nothing else imports this file.
"""

from __future__ import annotations

import shlex
from datetime import datetime, timedelta
from pathlib import Path

from airflow import DAG
from airflow.models import Variable
from airflow.operators.bash import BashOperator

from rollbook.schedule import run_command

NOTEBOOK = "notebooks/05_post_rollout_validation.ipynb"
MAX_PARALLEL = 2


def task_id(params_file: str) -> str:
    """`validate_eu` for `/etc/rollbook/eu.yaml` (Airflow ids: letters, digits, _ . -)."""
    stem = Path(params_file).stem
    return "validate_" + "".join(c if c.isalnum() or c in "_.-" else "_" for c in stem)


def build(params_files: list[str], output_dir: str, home: str) -> DAG:
    """The DAG with one `rollbook run` task per params file."""
    with DAG(
        dag_id="rollbook_nightly_validation",
        schedule="30 2 * * *",
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        max_active_tasks=MAX_PARALLEL,
        default_args={"retries": 0, "execution_timeout": timedelta(hours=1)},
        tags=["rollbook"],
    ) as dag:
        for params_file in params_files:
            command = run_command(
                Path(home) / NOTEBOOK, params_file, output_dir, ["window=24h"], rollbook="rollbook"
            )
            BashOperator(task_id=task_id(params_file), bash_command=shlex.join(command), cwd=home)
    return dag


dag = build(
    Variable.get("rollbook_params_files", deserialize_json=True, default_var=[]),
    Variable.get("rollbook_output_dir", default_var="/var/lib/rollbook/outputs"),
    Variable.get("rollbook_home", default_var="/opt/rollbook"),
)
