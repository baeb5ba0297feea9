"""Canary ramps: a flag stepped up under health checks, a statistical judge, verified rollback.

In a runbook (params' `canary:` section; a dry run unless `safety.apply`; flag-audit rows
carry the archived run's id):

    from rollbook.canary.progress import RampProgress

    live = not rb.context.headless  # a panel in JupyterLab, log lines otherwise
    with session(rb.params.primary, rb.params.safety, purpose="ramp") as conn:
        ramp = canary.controller_for(
            rb.params, "cache.history", conn, archive_run_id=rb.context.run_id,
            progress=RampProgress(live=live, report=rb.context.report),
        )
        result = ramp.run()
    rb.add_checks(result.checks())
    result.timeline(); result.chart()

The names below load on first use (`rollbook.lazy`): the params model reads the `canary:`
section without loading the judge's statistics (scipy).
"""

from typing import TYPE_CHECKING

from rollbook.lazy import lazy_exports

if TYPE_CHECKING:
    from rollbook.canary.controller import Ramp, RampController
    from rollbook.canary.judge import Buckets, Judgement, judge
    from rollbook.canary.params import CanaryParams
    from rollbook.canary.ramp import RampError, controller_for, ramp_for
    from rollbook.canary.result import Outcome, RampResult

__all__ = [
    "Buckets",
    "CanaryParams",
    "Judgement",
    "Outcome",
    "Ramp",
    "RampController",
    "RampError",
    "RampResult",
    "controller_for",
    "judge",
    "ramp_for",
]
lazy_exports(__name__)
