"""Phase 2 dry run on the test lab with the workload running, through `rollbook run`:
the preconditions pass, the ramp plan is shown and no flag changes. (`--apply` is tested
by test_rollout.py, which runs every phase applied, in order.)"""

from __future__ import annotations

import pytest
from _phases_lab import checks_by_name, flag_state, reset_flags, run_phase, seed_flags  # noqa: F401

NOTEBOOK = "02_phase2_pgbouncer.ipynb"


@pytest.mark.usefixtures("seed_flags")
def test_dry_run_changes_no_flag(lab_params, tmp_path):
    before = flag_state(lab_params)
    done, results = run_phase(NOTEBOOK, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert flag_state(lab_params) == before
    assert [r["outcome"] for r in results["data"]["ramps"]["ramps"]] == ["dry run"] * 3
    prepared = checks_by_name(results)[
        "prepared statements: PgBouncer tracks them or the driver disables them"
    ]
    assert prepared["status"] == "pass" and "PgBouncer 1.18" in prepared["detail"]
