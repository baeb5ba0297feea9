"""Phase 2 dry run on the test lab with the workload running, through `rollbook run`:
the preconditions pass, the ramp plan is shown and no flag changes. (`--apply` is tested
by test_rollout.py, which runs every phase applied, in order.)"""

from __future__ import annotations

import pytest
from _phases_lab import checks_by_name, dry_run_phase, seed_flags  # noqa: F401

NOTEBOOK = "02_phase2_pgbouncer.ipynb"


@pytest.mark.usefixtures("seed_flags")
def test_dry_run_changes_no_flag(lab_params, tmp_path):
    results = dry_run_phase(NOTEBOOK, lab_params, tmp_path, ramps=3)
    prepared = checks_by_name(results)[
        "prepared statements: PgBouncer tracks them or the driver disables them"
    ]
    assert prepared["status"] == "pass" and "PgBouncer 1.18" in prepared["detail"]
