"""Phase 3 dry run on the test lab with the workload running, through `rollbook run`:
the ramp plan is shown and no flag changes. (`--apply` is tested by test_rollout.py.)"""

from __future__ import annotations

import pytest
from _phases_lab import flag_state, reset_flags, run_phase, seed_flags  # noqa: F401

NOTEBOOK = "03_phase3_redis_cache.ipynb"


@pytest.mark.usefixtures("seed_flags")
def test_dry_run_changes_no_flag(lab_params, tmp_path):
    before = flag_state(lab_params)
    done, results = run_phase(NOTEBOOK, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert flag_state(lab_params) == before
    assert [r["outcome"] for r in results["data"]["ramps"]["ramps"]] == ["dry run"] * 2
