"""Post-rollout validation: success criteria, before/after, plan regression, alerts.

Read-only apart from the replica-staleness marker (`rollbook.runbooks.correctness`), so a
nightly job can run it against production. Each function returns a `StepResult` (a table for
the reader and the checks it concluded); comparisons with the archive (the preflight
baseline, Phase 1's plans) are `no data`, not required, when nothing is archived.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from rollbook.archive.archived_plans import ArchivedPlans, shape_checks
from rollbook.archive.baselines import latest_baseline
from rollbook.db import pgbouncer_console
from rollbook.explain.analysis import Analysis
from rollbook.params import Params
from rollbook.prom.catalog import concept
from rollbook.prom.client import PromClient
from rollbook.prom.slo import check_slos, summarise
from rollbook.prom.window import Window
from rollbook.runbooks import indexes
from rollbook.runbooks.steady import steady_window
from rollbook.step import StepResult
from rollbook.verdict import compare

PLAN_QUERIES = indexes.PHASE_QUERIES


def slo_window(params: Params, client: PromClient, window: str | None = None) -> Window:
    """The validation's steady window ending now (the rollout itself is not judged)."""
    return steady_window(params, client, window or params.validation.window)


def success_criteria(params: Params, client: PromClient, window: Window) -> StepResult:
    """The seed's success criteria (params `validation.slo`) over the window."""
    checks = check_slos(client, params.validation.slo, window, params.monitoring.queries)
    return StepResult(pd.DataFrame([c.model_dump() for c in checks]), checks)


def connection_capacity(params: Params) -> StepResult:
    """PgBouncer accepts the planned client connections (`max_client_conn`)."""
    minimum = params.validation.min_client_connections
    if params.pgbouncer is None:
        check = compare(
            "connection capacity (PgBouncer max_client_conn)",
            None,
            ">=",
            minimum,
            detail="no `pgbouncer` in params",
        )
        return StepResult(pd.DataFrame(), [check])
    with pgbouncer_console(params.pgbouncer) as conn:
        rows = conn.execute("SHOW CONFIG").fetchall()
    config = {row[0]: row[1] for row in rows}
    keys = ["max_client_conn", "default_pool_size", "max_db_connections", "pool_mode"]
    table = pd.DataFrame({"setting": keys, "value": [config.get(k) for k in keys]})
    capacity = int(config["max_client_conn"]) if "max_client_conn" in config else None
    check = compare(
        "connection capacity (PgBouncer max_client_conn)",
        capacity,
        ">=",
        minimum,
        unit="connections",
    )
    return StepResult(table, [check])


def before_after(
    params: Params, client: PromClient, window: Window, output_dir: Path | None = None
) -> StepResult:
    """Primary load and p95 latencies now vs the preflight baseline in the archive."""
    v = params.validation
    run_id, baseline = latest_baseline(params.environment, output_dir)
    limits = {v.primary_load_concept: v.max_primary_load_ratio}
    limits |= {name: v.max_latency_ratio for name in v.latency_concepts}
    rows, checks = [], []
    for name, limit in limits.items():
        measure = concept(name, params.monitoring.queries)
        before, now = baseline.get(name), summarise(client, measure, window)
        ratio = now / before if before and now is not None else None
        rows.append({"concept": name, "baseline": before, "now": now, "ratio": ratio})
        detail = f"baseline of run {run_id}" if run_id else "no passed preflight archived"
        checks.append(
            compare(
                f"{measure.title}: now / before the rollout",
                ratio,
                "<=",
                limit,
                required=run_id is not None,
                detail=detail,
            )
        )
    return StepResult(pd.DataFrame(rows), checks)


def current_plans(params: Params) -> dict[str, dict[str, Analysis]]:
    """EXPLAIN ANALYZE of the named queries on the primary and the replica (read-only)."""
    targets = ["primary", *(["replica"] if params.replica else [])]
    names = tuple(n for n in PLAN_QUERIES if n in params.queries)
    return {t: indexes.explain_queries(params, t, names) for t in targets}


def plan_regression(
    params: Params, plans: dict[str, dict[str, Analysis]], archived: ArchivedPlans
) -> tuple[StepResult, dict]:
    """Phase 1's assertions on today's plans, and their shape vs Phase 1's archived plans."""
    checks, diffs = [], {}
    for target, analyses in plans.items():
        checks += indexes.assertion_checks(params, analyses, target)
        diffs[target], shape = shape_checks(archived, analyses, target)
        checks += shape
    table = pd.concat(
        [indexes.plans_table(a).assign(target=t) for t, a in plans.items()], ignore_index=True
    )
    return StepResult(table, checks), diffs


ALERT_COLUMNS = ["alertname", "severity", "alertstate"]


def firing_alerts(params: Params, client: PromClient) -> StepResult:
    """Alerts firing now in Prometheus; none may be of the critical severity."""
    frame = client.instant('ALERTS{alertstate="firing"}')
    table = frame.drop(columns=["timestamp", "value", "__name__"], errors="ignore")
    for column in ALERT_COLUMNS:
        if column not in table:
            table[column] = pd.Series(dtype=str)
    table = table[ALERT_COLUMNS + [c for c in table.columns if c not in ALERT_COLUMNS]]
    severity = params.validation.critical_severity
    judged = ~table["alertname"].isin(params.validation.ignored_alerts)
    critical = table[(table["severity"] == severity) & judged]
    check = compare(
        f"alerts of severity {severity} firing",
        len(critical),
        "==",
        0,
        detail=", ".join(critical["alertname"]) or f"{len(table)} firing in all",
    )
    return StepResult(table, [check])
