"""The test lab after the rollout (what the root conftest arranges before nbval), and back.

`rolled_out` builds the keyset indexes with the Phase 1 library, ANALYZEs, sets every
rollout flag to 100 and archives a passed preflight (with its baseline, taken before the
rollout) into `output_dir`. `rolled_back` drops the indexes and resets the flags, so other
tests see the seed state.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from psycopg import sql

from rollbook.config import Params
from rollbook.flags import FlagStore
from rollbook.phases import indexes
from rollbook.phases.migration import index_builds
from rollbook.phases.replica_wait import wait_for_replay

REPO = Path(__file__).resolve().parents[2]
ROLLBOOK = Path(sys.executable).parent / "rollbook"
ROLLOUT_FLAGS = [
    f"{family}.{endpoint}"
    for family, endpoints in {
        "cache": ("history", "conversations"),
        "replica": ("history", "conversations"),
        "pgbouncer": ("history", "send", "conversations"),
    }.items()
    for endpoint in endpoints
]


def rollbook_run(notebook: str, params_file: Path, output_dir: Path, *args: str):
    """`rollbook run` of a repository notebook; returns the finished process."""
    command = [str(ROLLBOOK), "run", str(REPO / "notebooks" / notebook), "--params",
               str(params_file), "--output-dir", str(output_dir), *args]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=REPO)


def set_flags(lab, value: float) -> None:
    with lab.primary.connect() as conn:
        store = FlagStore(conn)
        for name in ROLLOUT_FLAGS:
            store.set(name, value, by="validation-tests")


def build_indexes(params: Params) -> None:
    applying = params.model_copy(
        update={"safety": params.safety.model_copy(update={"apply": True})}
    )
    indexes.apply(applying, indexes.plan_of_work(applying), gates=[])
    indexes.analyze_tables(applying, index_builds())
    wait_for_replay(params, 60)


def drop_indexes(lab, params: Params) -> None:
    with lab.primary.connect() as conn:
        conn.autocommit = True
        for build in index_builds():
            conn.execute(
                sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(sql.Identifier(build.name))
            )
    wait_for_replay(params, 60)


def rolled_out(lab, params: Params, params_file: Path, output_dir: Path) -> None:
    """Seed state for a minute, preflight archived (its baseline: that minute), indexes
    built, flags at 100 %, then traffic on the new paths for the SLO window."""
    rolled_back(lab, params)
    time.sleep(60)
    done = rollbook_run("00_preflight.ipynb", params_file, output_dir, "-p", "baseline_window=1m")
    assert done.returncode == 0, done.stdout + done.stderr
    build_indexes(params)
    set_flags(lab, 100)
    time.sleep(45)


def rolled_back(lab, params: Params) -> None:
    set_flags(lab, 0)
    drop_indexes(lab, params)
