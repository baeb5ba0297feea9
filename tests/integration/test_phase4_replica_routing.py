"""Phase 4 dry run on the test lab with the workload running, through `rollbook run`:
no flag changes and no probe row is written. (`--apply` is tested by test_rollout.py.)"""

from __future__ import annotations

import pytest
from _phases_lab import checks_by_name, dry_run_phase, seed_flags  # noqa: F401

from rollbook.db import session

NOTEBOOK = "04_phase4_replica_routing.ipynb"
STALE = "replica reads see a primary write within the breaker threshold"


def probe_rows(params) -> int | None:
    with session(params.primary, params.safety, purpose="test") as conn:
        if conn.execute("SELECT to_regclass('rollbook.replica_probe')").fetchone()[0] is None:
            return None
        return conn.execute("SELECT count(*) FROM rollbook.replica_probe").fetchone()[0]


@pytest.mark.usefixtures("seed_flags")
def test_dry_run_changes_no_flag(lab_params, tmp_path):
    results = dry_run_phase(
        NOTEBOOK, lab_params, tmp_path, ramps=2, unchanged=lambda: probe_rows(lab_params)
    )
    assert checks_by_name(results)[STALE]["required"] is False
