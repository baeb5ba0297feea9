"""Phase 3 dry run on the test lab with the workload running, through `rollbook run`:
the ramp plan is shown and no flag changes. (`--apply` is tested by test_rollout.py.)"""

from __future__ import annotations

import pytest
from _phases_lab import dry_run_phase, seed_flags  # noqa: F401

NOTEBOOK = "03_phase3_redis_cache.ipynb"


@pytest.mark.usefixtures("seed_flags")
def test_dry_run_changes_no_flag(lab_params, tmp_path):
    dry_run_phase(NOTEBOOK, lab_params, tmp_path, ramps=2)
