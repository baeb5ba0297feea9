"""The whole rollout: preflight, then Phases 1 to 4, in order, each through the runner.

The first run that does not pass stops the rollout; a phase that rolled back its ramp has
already done so inside its own run. Every run is archived as usual.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rollbook import resources
from rollbook.flags import FlagStore
from rollbook.runbooks import cache, pgbouncer, replica_routing
from rollbook.runner import RunReport, Watch, prepare, run

NOTEBOOKS_DIR = resources.folder("notebooks")
ROLLOUT_RUNBOOKS = (
    "00_preflight.ipynb",
    "01_phase1_indexes.ipynb",
    "02_phase2_pgbouncer.ipynb",
    "03_phase3_redis_cache.ipynb",
    "04_phase4_replica_routing.ipynb",
)
# Every flag Phases 2-4 ramp, in the order they ramp them.
ROLLOUT_FLAGS = (*pgbouncer.FLAGS, *cache.FLAGS, *replica_routing.FLAGS)


def flags_back_to_seed(
    store: FlagStore, *, by: str | None = None, run_id: str | None = None
) -> list[str]:
    """Set every rollout flag that is on back to 0 % (audited); the names of those changed."""
    changed = [name for name in ROLLOUT_FLAGS if store.get(name)]
    for name in changed:
        store.set(name, 0, run_id=run_id, by=by)
    return changed


def rollout(
    params_file: Path,
    *,
    apply: bool,
    output_dir: Path,
    notebooks_dir: Path = NOTEBOOKS_DIR,
    on_start: Callable[[str], None] = lambda name: None,
    on_report: Callable[[str, RunReport], None] = lambda name, report: None,
    watch: Watch | None = None,
) -> list[RunReport]:
    """Run the rollout's runbooks in order; stop after the first one that does not pass.

    Every runbook is validated (notebook parameters, params file) before the first runs,
    so a bad input stops the rollout before anything executes (`BadInput`)."""
    requests = [
        prepare(notebooks_dir / name, params_file, [], apply, output_dir)
        for name in ROLLOUT_RUNBOOKS
    ]
    reports = []
    for name, request in zip(ROLLOUT_RUNBOOKS, requests, strict=True):
        on_start(name)
        report = run(request, watch)
        reports.append(report)
        on_report(name, report)
        if report.exit_code:
            break
    return reports
