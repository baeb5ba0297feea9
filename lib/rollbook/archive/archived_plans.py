"""Plans archived by Phase 1, read back to detect plan regressions later.

Phase 1 records its after-plans in results.json as
`data.after_plans = {target: {query name: EXPLAIN JSON document}}` (`plan_documents`
builds that value). `latest_plans` finds the newest Phase 1 run of an environment that
archived them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from rollbook.archive.catalog import list_runs
from rollbook.archive.runs import load_run
from rollbook.explain.analysis import Analysis, analyse
from rollbook.explain.diff import PlanDiff, diff
from rollbook.explain.parse import parse_plan
from rollbook.verdict import Check, expect

PHASE1_RUNBOOK = "01_phase1_indexes"
AFTER_PLANS_KEY = "after_plans"


def plan_documents(
    analyses_by_target: dict[str, dict[str, Analysis]],
) -> dict[str, dict[str, Any]]:
    """{target: {query: EXPLAIN JSON}}, the value Phase 1 records under `after_plans`."""
    return {
        target: {name: a.plan.document for name, a in analyses.items()}
        for target, analyses in analyses_by_target.items()
    }


@dataclass
class ArchivedPlans:
    """The after-plans of one Phase 1 run (or why there are none)."""

    run_id: str | None
    plans: dict[str, dict[str, Analysis]]
    reason: str = ""

    def for_target(self, target: str) -> dict[str, Analysis]:
        return self.plans.get(target, {})


def latest_plans(environment: str, output_dir: Path | None = None) -> ArchivedPlans:
    """The newest Phase 1 run of `environment` that archived after-plans."""
    runs = list_runs(output_dir, runbook=PHASE1_RUNBOOK)
    runs = runs[runs["environment"] == environment]
    if runs.empty:
        return ArchivedPlans(None, {}, f"no {PHASE1_RUNBOOK} run of {environment} archived")
    for run_id in runs["run_id"]:
        documents = load_run(run_id, output_dir).results.data.get(AFTER_PLANS_KEY)
        if documents:
            plans = {
                target: {name: analyse(parse_plan(doc, name=name)) for name, doc in docs.items()}
                for target, docs in documents.items()
            }
            return ArchivedPlans(run_id, plans)
    return ArchivedPlans(
        None, {}, f"{len(runs)} {PHASE1_RUNBOOK} run(s) archived, none with data.{AFTER_PLANS_KEY}"
    )


def shape_checks(
    archived: ArchivedPlans, now: dict[str, Analysis], target: str
) -> tuple[dict[str, PlanDiff], list[Check]]:
    """Each query's plan now vs its archived plan: a shape change fails (no archive: no data).

    Required only when there is an archived plan to compare with.
    """
    before = archived.for_target(target)
    if not before:
        reason = archived.reason or f"no archived plans for {target}"
        return {}, [expect(f"{target}: plans vs archived", None, detail=reason, required=False)]
    diffs = {name: diff(before[name], now[name]) for name in now if name in before}
    checks = []
    for name, plan_diff in diffs.items():
        changes = plan_diff.shape
        detail = "; ".join(
            f"{r.change}: {r.before_label or ''} -> {r.after_label or ''}"
            for r in changes.itertuples()
        )
        checks.append(
            expect(
                f"{target}: {name}: plan shape as archived",
                not plan_diff.shape_changed,
                detail=detail or f"same as run {archived.run_id}",
            )
        )
    return diffs, checks


def shape_table(diffs: dict[str, PlanDiff]) -> pd.DataFrame:
    """The shape changes of every query (empty when every plan kept its shape)."""
    frames = [
        d.shape[["change", "before_label", "after_label"]].assign(query=name)
        for name, d in diffs.items()
    ]
    columns = ["query", "change", "before_label", "after_label"]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]
