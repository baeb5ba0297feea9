"""Phase 2 dry run on the test lab with the workload running, through `rollbook run`:
the preconditions pass, the ramp plan is shown and no flag changes. (`--apply` is tested
by test_rollout.py, which runs every phase applied, in order.)"""

from __future__ import annotations

import pytest
from _phases_lab import PARAMS, checks_by_name, dry_run_phase, seed_flags  # noqa: F401

from rollbook.params import load_params
from rollbook.runbooks import pgbouncer
from rollbook.verdict import Status

NOTEBOOK = "02_phase2_pgbouncer.ipynb"


@pytest.mark.usefixtures("seed_flags")
def test_dry_run_changes_no_flag(lab_params, tmp_path):
    results = dry_run_phase(NOTEBOOK, lab_params, tmp_path, ramps=3)
    prepared = checks_by_name(results)[pgbouncer.PREPARED_CHECK]
    assert prepared["status"] == "pass" and "PgBouncer 1.18" in prepared["detail"]


@pytest.mark.parametrize(("prepares", "status"), [(True, Status.FAIL), (False, Status.PASS)])
def test_prepared_statements_judge_the_applications_driver(lab, prepares, status):
    """The lab's PgBouncer 1.18 in transaction mode tracks no prepared statements: an
    application that prepares them fails, one that does not passes."""
    params = load_params(
        PARAMS, {"lab.dir": str(lab.layout.dir), "pgbouncer.app_prepares_statements": prepares}
    )
    (check,) = pgbouncer.prepared_statements(params).checks
    assert check.status is status, check.detail
    assert "PgBouncer 1.18" in check.detail and "pool_mode transaction" in check.detail
