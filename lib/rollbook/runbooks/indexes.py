"""Phase 1: build the keyset-pagination indexes concurrently and prove the plans use them.

Steps (each a function the notebook calls): preconditions, EXPLAIN of the named queries,
an optional hypopg what-if, the plan of work (missing -> build, valid -> skip, INVALID ->
drop + rebuild), the builds (only with `safety.apply`), ANALYZE, the replica's replay,
the after-plans on the primary and the replica checked against `explain.assertions`, and
the history latency before vs after from Prometheus.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
from psycopg import sql

from rollbook.config.endpoints import PostgresEndpoint
from rollbook.db import session
from rollbook.duration import parse_duration
from rollbook.errors import RollbookError
from rollbook.explain.analysis import Analysis, analyse
from rollbook.explain.assertions import check_assertions
from rollbook.explain.diff import PlanDiff, diff
from rollbook.explain.run import named_query, run_named_query
from rollbook.params import Params
from rollbook.postgres.build_progress import ProgressDisplay
from rollbook.postgres.index_build import IndexBuildBlocked, index_state, run_watched
from rollbook.postgres.migration import KEYSET_MIGRATION, IndexBuild, index_builds
from rollbook.postgres.what_if import what_if
from rollbook.prom.catalog import concept
from rollbook.prom.charts import timeseries
from rollbook.prom.client import PromClient, PrometheusError
from rollbook.prom.slo import Comparison, compare_windows, comparison_check
from rollbook.prom.window import Window
from rollbook.runbooks import preflight
from rollbook.step import StepResult
from rollbook.verdict import Check, checks_frame, expect, failing, failure_summary

# The chat queries the indexes are for (defined in params `queries`).
PHASE_QUERIES = ("history_first_page", "history_next_page", "conversation_list")
ACTIONS = {"missing": "build", "valid": "skip", "invalid": "drop + rebuild"}
LATENCY_CONCEPT = "history_latency_p95_seconds"


class PreconditionsFailed(RollbookError, RuntimeError):
    """A precondition of the phase did not pass: nothing was built."""


# -- preconditions ------------------------------------------------------------------------


@dataclass
class Preconditions(StepResult):
    """The gates of a phase (blocking sessions, disk, replication, ...): every section's
    checks in one table, each section's own table kept for display."""

    sections: dict[str, StepResult] = field(default_factory=dict)

    @classmethod
    def of(cls, sections: dict[str, StepResult]) -> Preconditions:
        checks = [c for s in sections.values() for c in s.checks]
        return cls(checks_frame(checks), checks, sections=sections)


def preconditions(
    params: Params,
    *,
    max_transaction_age_seconds: float = 60,
    max_replica_lag_seconds: float = 5,
    migration: Path = KEYSET_MIGRATION,
) -> Preconditions:
    """No long / idle-in-transaction session, disk for the builds, replica streaming."""
    sections = {
        "blocking sessions": preflight.blockers(params, max_transaction_age_seconds),
        "disk": preflight.disk(params, migration),
    }
    if params.replica is not None:
        sections["replication"] = preflight.replication(params, max_replica_lag_seconds)
    return Preconditions.of(sections)


# -- plans --------------------------------------------------------------------------------


def endpoint(params: Params, target: str) -> PostgresEndpoint:
    """The primary or the replica of the params (a clear error for anything else)."""
    if target == "primary":
        return params.primary
    if target == "replica":
        if params.replica is None:
            raise ValueError("target 'replica' but the params have no `replica` section")
        return params.replica
    raise ValueError(f"unknown target {target!r}: use primary or replica")


def explain_queries(
    params: Params, target: str = "primary", names: tuple[str, ...] = PHASE_QUERIES
) -> dict[str, Analysis]:
    """EXPLAIN ANALYZE each named query (read-only session; writes would be rolled back)."""
    with session(
        endpoint(params, target), params.safety, purpose=f"phase1:explain-{target}", read_only=True
    ) as conn:
        return {
            name: analyse(run_named_query(conn, params.queries, name), params.explain.thresholds)
            for name in names
        }


def what_if_plans(
    params: Params, migration: Path = KEYSET_MIGRATION, names: tuple[str, ...] = PHASE_QUERIES
) -> dict[str, Analysis]:
    """Plain EXPLAIN of each named query as if the migration's indexes existed (hypopg)."""
    statements = [build.sql for build in index_builds(migration)]
    plans = {}
    with session(params.primary, params.safety, purpose="phase1:what-if", read_only=True) as conn:
        for name in names:
            query = named_query(params.queries, name)
            plan, _ = what_if(conn, statements, query.sql, query.params, name=name)
            plans[name] = analyse(plan, params.explain.thresholds)
    return plans


def plans_table(analyses: dict[str, Analysis]) -> pd.DataFrame:
    """One row per query: timings, buffers, rows examined and the plan's node path."""
    rows = []
    for name, analysis in analyses.items():
        s = analysis.summary
        rows.append(
            {
                "query": name,
                "execution_ms": s["execution_ms"],
                "planning_ms": s["planning_ms"],
                "shared_blocks": s["shared_blocks"],
                "rows_examined": s["rows_examined"],
                "findings": len(analysis.findings),
                "plan": " → ".join(n.label for n in analysis.plan.nodes),
            }
        )
    return pd.DataFrame(rows)


def findings_table(analyses: dict[str, Analysis]) -> pd.DataFrame:
    """Every finding of every query, with the query's name first."""
    frames = [a.findings_frame().assign(query=name) for name, a in analyses.items()]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return frame[["query", *[c for c in frame.columns if c != "query"]]] if len(frame) else frame


def assertion_checks(
    params: Params, analyses: dict[str, Analysis], target: str, *, required: bool = True
) -> list[Check]:
    """`explain.assertions` of each query as checks named `<target>: <query>: <assertion>`."""
    checks = []
    for name, analysis in analyses.items():
        for check in check_assertions(analysis.plan, params.explain.assertions.get(name, [])):
            checks.append(
                check.model_copy(update={"name": f"{target}: {check.name}", "required": required})
            )
    return checks


def plan_diffs(before: dict[str, Analysis], after: dict[str, Analysis]) -> dict[str, PlanDiff]:
    """Before vs after of each query present in both."""
    return {name: diff(before[name], after[name]) for name in before if name in after}


def diffs_table(diffs: dict[str, PlanDiff]) -> pd.DataFrame:
    """Statement metrics before / after per query (execution time, buffers, rows, nodes)."""
    frames = [d.statement.assign(query=name) for name, d in diffs.items()]
    frame = pd.concat(frames, ignore_index=True)
    return frame[["query", "metric", "before", "after", "delta", "ratio"]]


# -- plan of work and apply ---------------------------------------------------------------


@dataclass(frozen=True)
class Work:
    """One index of the migration, its state on the primary and what the phase will do."""

    build: IndexBuild
    state: str

    @property
    def action(self) -> str:
        return ACTIONS[self.state]


def plan_of_work(params: Params, migration: Path = KEYSET_MIGRATION) -> list[Work]:
    """Each index of the migration: missing -> build, valid -> skip, INVALID -> drop + rebuild."""
    builds = index_builds(migration)
    with session(params.primary, params.safety, purpose="phase1:plan", read_only=True) as conn:
        return [Work(build, index_state(conn, build.name)) for build in builds]


def work_table(work: list[Work]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "index": w.build.name,
                "table": w.build.table,
                "columns": ", ".join(w.build.columns),
                "state": w.state,
                "action": w.action,
            }
            for w in work
        ]
    )


@dataclass
class Applied:
    """What the apply step did, per index, and when (for the latency windows)."""

    table: pd.DataFrame
    started_at: datetime
    finished_at: datetime
    changed: bool
    checks: list[Check] = field(default_factory=list)


def _drop_statement(build: IndexBuild) -> str:
    schema, _, name = build.name.rpartition(".")
    ident = sql.Identifier(schema, name) if schema else sql.Identifier(name)
    return sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(ident).as_string()


def _left_behind(params: Params, build: IndexBuild) -> str:
    with session(params.primary, params.safety, purpose="phase1:plan", read_only=True) as conn:
        state = index_state(conn, build.name)
    if state == "invalid":
        return f" The build left {build.name} INVALID: the next run drops and rebuilds it."
    return f" {build.name} is {state}."


def _execute(params: Params, item: Work, headless: bool) -> dict:
    if item.action == "drop + rebuild":
        run_watched(params, _drop_statement(item.build))
    with ProgressDisplay(item.build.name, log_lines=headless) as show:
        run = run_watched(params, item.build.sql, on_progress=show)
    phase = run.last_progress.phase if run.last_progress else "done before the first sample"
    return {"seconds": round(run.seconds, 2), "last phase seen": phase}


def apply(
    params: Params, work: list[Work], gates: list[Check], *, headless: bool = True
) -> Applied:
    """Build what the plan of work says (only with `safety.apply`; otherwise a dry run).

    Statement by statement on an autocommit session with the params' `lock_timeout`.
    Refuses to start when a precondition did not pass. A lock timeout raises
    IndexBuildBlocked naming the blocking session and its query. Each build's progress is
    a bar, or log lines when `headless` (the run context's).
    """
    started = datetime.now(UTC)
    rows = []
    if params.safety.apply and failing(gates):
        raise PreconditionsFailed(
            "not building: preconditions did not pass:\n" + failure_summary(gates)
        )
    for item in work:
        row = {"index": item.build.name, "action": item.action}
        if item.action == "skip":
            rows.append({**row, "outcome": "skipped: already valid"})
        elif not params.safety.apply:
            rows.append({**row, "outcome": f"DRY RUN: would {item.action}"})
        else:
            try:
                rows.append({**row, "outcome": "done", **_execute(params, item, headless)})
            except IndexBuildBlocked as exc:
                raise IndexBuildBlocked(f"{exc}.{_left_behind(params, item.build)}") from None
    changed = params.safety.apply and any(w.action != "skip" for w in work)
    return Applied(pd.DataFrame(rows), started, datetime.now(UTC), changed)


def state_checks(
    params: Params, builds: list[IndexBuild], target: str = "primary", *, required: bool = True
) -> tuple[pd.DataFrame, list[Check]]:
    """Each index's state on a target, and a check that it is valid there."""
    with session(
        endpoint(params, target), params.safety, purpose="phase1:verify", read_only=True
    ) as conn:
        states = {b.name: index_state(conn, b.name) for b in builds}
    table = pd.DataFrame({"index": list(states), "target": target, "state": list(states.values())})
    checks = [
        expect(f"{target}: index {name} valid", state == "valid", detail=state, required=required)
        for name, state in states.items()
    ]
    return table, checks


def analyze_tables(params: Params, builds: list[IndexBuild]) -> pd.DataFrame:
    """ANALYZE each table the migration indexed (fresh statistics for the planner)."""
    tables = list(dict.fromkeys(b.table for b in builds))
    if not params.safety.apply:
        return pd.DataFrame({"table": tables, "outcome": "DRY RUN: would ANALYZE"})
    rows = []
    with session(params.primary, params.safety, purpose="phase1:analyze") as conn:
        for table in tables:
            began = datetime.now(UTC)
            conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(*table.split("."))))
            seconds = (datetime.now(UTC) - began).total_seconds()
            rows.append({"table": table, "outcome": "analysed", "seconds": round(seconds, 2)})
    return pd.DataFrame(rows)


# -- latency from Prometheus --------------------------------------------------------------


@dataclass
class Latency:
    """History p95 before vs after the change, its check (never required) and a chart."""

    comparison: Comparison
    check: Check
    figure: go.Figure | None


def _no_latency(detail: str) -> Latency:
    check = expect("history p95 after/before", None, detail=detail, required=False)
    return Latency(Comparison(LATENCY_CONCEPT, None, None), check, None)


def history_latency(
    params: Params,
    applied: Applied,
    window: str = "5m",
    *,
    max_ratio: float = 1.0,
    now: datetime | None = None,
) -> Latency:
    """History p95 in the `window` before the build vs from its end until now.

    Informational: a short after-window or no traffic gives `no data`, which is not required.
    """
    if params.prometheus is None:
        return _no_latency("no `prometheus` in params")
    if not applied.changed:
        return _no_latency("nothing was built in this run: no before/after to compare")
    now = now or datetime.now(UTC)
    span = parse_duration(window)
    before = Window(applied.started_at - span, applied.started_at)
    after_start = applied.finished_at
    if now - after_start < timedelta(seconds=5):
        return _no_latency("the after-window is shorter than 5 s")
    try:
        client = PromClient.from_params(params)
        comparison = compare_windows(
            client, LATENCY_CONCEPT, before, Window(after_start, now), params.monitoring.queries
        )
        measure = concept(LATENCY_CONCEPT, params.monitoring.queries)
        frame = client.range(measure.query("1m"), Window(before.start, now))
    except PrometheusError as exc:
        return _no_latency(str(exc))
    figure = timeseries(frame, measure, events=[(applied.finished_at, "indexes built")])
    check = comparison_check(comparison, "<=", max_ratio, required=False)
    return Latency(comparison, check, figure)
