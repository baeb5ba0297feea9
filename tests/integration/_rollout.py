"""The test session's one applied rollout: `rollbook rollout --apply` on the test lab from
the seed state (flags at 0, no keyset indexes), run once and shared by the tests of the
rolled-out lab (test_rollout, validation, incident review) and by nbval's notebooks.

Its runs are archived in the session's output dir, so later runbooks find the preflight
baseline and Phase 1's plans there, as they would after a production rollout."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from _phases_lab import PARAMS, SendLedger, drop_keyset_indexes, flag_state, reset_flags, rollbook

from rollbook.archive.layout import default_output_dir


@dataclass(frozen=True)
class Rollout:
    done: subprocess.CompletedProcess
    sends: SendLedger
    flags: dict[str, float | None]
    results: dict[str, dict]  # runbook name -> its results.json
    run_dirs: list[Path]
    output_dir: Path


_rollouts: list[Rollout] = []


def rolled_out(lab, params) -> Rollout:
    """The rollout, applied on the first call; later calls return the same record."""
    if not _rollouts:
        _rollouts.append(_apply(lab, params))
    return _rollouts[0]


def _apply(lab, params) -> Rollout:
    out = default_output_dir()
    lab.wait_for_monitoring()  # the preflight's baseline needs scraped history
    reset_flags(params)
    drop_keyset_indexes(lab)
    with SendLedger(lab, params) as sends:
        done = rollbook("rollout", "--params", str(PARAMS), "--apply", "--output-dir", str(out))
    flags, _ = flag_state(params)
    run_dirs = [Path(line.split(":", 1)[1].strip()) for line in done.stdout.splitlines()
                if line.strip().startswith("run folder:")]  # fmt: skip
    results = {}
    for run_dir in run_dirs:
        run = json.loads((run_dir / "results.json").read_text())
        results[run["runbook"]] = run
    return Rollout(done, sends, flags, results, run_dirs, out)
