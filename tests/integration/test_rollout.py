"""`rollbook rollout --apply` on the test lab with the workload running: preflight and
Phases 1-4 pass in order (exit 0), every archived run is printed, every rollout flag ends
at 100 % and no acknowledged send is lost across the rollout. The expensive one (minutes).
"""

from __future__ import annotations

import json
from pathlib import Path

from _phases_lab import (
    PARAMS,
    PHASE_FLAGS,
    SendLedger,
    drop_keyset_indexes,
    flag_state,
    reset_flags,
    rollbook,
)

from rollbook.phases.rollout import ROLLOUT_RUNBOOKS


def test_rollout_applies_every_phase_in_order(lab, lab_params, tmp_path):
    reset_flags(lab_params)
    drop_keyset_indexes(lab)
    try:
        with SendLedger(lab, lab_params) as sends:
            done = rollbook("rollout", "--params", str(PARAMS), "--apply",
                            "--output-dir", str(tmp_path))  # fmt: skip
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
        values, _ = flag_state(lab_params)
        assert values == {flag: 100.0 for flag in PHASE_FLAGS}
        assert sends.acknowledged > 0 and sends.acknowledged == sends.written
    finally:
        reset_flags(lab_params)
        drop_keyset_indexes(lab)
    run_dirs = [Path(line.split(":", 1)[1].strip()) for line in done.stdout.splitlines()
                if line.strip().startswith("run folder:")]  # fmt: skip
    runbooks = [json.loads((d / "results.json").read_text())["runbook"] for d in run_dirs]
    assert runbooks == [name.removesuffix(".ipynb") for name in ROLLOUT_RUNBOOKS]
    assert all((d / "report.html").is_file() or list(d.glob("*.html")) for d in run_dirs)
    assert "rollout complete: 5 runbooks passed" in done.stdout
