"""Preflight: the pre-rollout checklist, read-only. Each function returns what it saw + checks."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pandas as pd
import requests

from rollbook.cache.client import redis_client
from rollbook.db import pgbouncer_console, scalar, session
from rollbook.params import Params, required
from rollbook.postgres.migration import KEYSET_MIGRATION, index_builds
from rollbook.postgres.replication import replica_lag_seconds, wal_senders
from rollbook.prom.catalog import concept
from rollbook.prom.client import PromClient
from rollbook.prom.rules import all_alerts
from rollbook.prom.slo import summarise
from rollbook.runbooks.steady import steady_window
from rollbook.step import StepResult
from rollbook.verdict import Check, compare, expect

LOOPBACK = {"127.0.0.1", "localhost", "::1"}

BLOCKERS_SQL = """
SELECT pid, usename, application_name, state,
       round(extract(epoch FROM now() - xact_start)::numeric, 1) AS xact_age_s,
       left(query, 120) AS query
FROM pg_stat_activity
WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid()
  AND backend_type = 'client backend'
  AND (now() - xact_start > make_interval(secs => %(max_age)s)
       OR (state LIKE 'idle in transaction%%'
           AND now() - state_change > make_interval(secs => %(max_age)s)))
ORDER BY xact_start
"""


def _reachable(name: str, fetch) -> tuple[dict, Check]:
    try:
        version = fetch()
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable", shown as such
        return {"component": name, "version": None, "error": str(exc)[:200]}, expect(
            f"{name} reachable", False, detail=str(exc)[:200]
        )
    return {"component": name, "version": version, "error": ""}, expect(f"{name} reachable", True)


def _pg_version(params: Params, endpoint) -> str:
    with session(endpoint, params.safety, purpose="preflight", read_only=True) as conn:
        return scalar(conn, "SHOW server_version")


def _pgbouncer_version(params: Params) -> str:
    with pgbouncer_console(required(params.pgbouncer, "pgbouncer")) as conn:
        return scalar(conn, "SHOW VERSION")


def _prometheus_get(params: Params, path: str) -> dict:
    prom = required(params.prometheus, "prometheus")
    headers = {}
    if prom.bearer_token is not None:
        headers["Authorization"] = f"Bearer {prom.bearer_token.resolve()}"
    response = requests.get(prom.url.rstrip("/") + path, headers=headers, timeout=10)
    response.raise_for_status()
    return response.json()["data"]


def connectivity(params: Params) -> StepResult:
    """Every component answers, with its version."""
    probes = {"primary": lambda: _pg_version(params, params.primary)}
    if params.replica:
        probes["replica"] = lambda: _pg_version(params, params.replica)
    if params.pgbouncer:
        probes["pgbouncer"] = lambda: _pgbouncer_version(params)
    if params.redis:
        probes["redis"] = lambda: redis_client(params.redis).info("server")["redis_version"]
    if params.prometheus:
        probes["prometheus"] = lambda: _prometheus_get(params, "/api/v1/status/buildinfo")[
            "version"
        ]
    rows, checks = zip(*(_reachable(name, fetch) for name, fetch in probes.items()), strict=True)
    return StepResult(pd.DataFrame(rows), list(checks))


def replication(params: Params, max_lag_seconds: float) -> StepResult:
    """The replica streams from the primary and replays within the lag threshold."""
    table = wal_senders(params, "preflight")
    streaming = bool((table["state"] == "streaming").any()) if len(table) else False
    lag, unknown = None, "no `replica` in params"
    if params.replica:
        lag = replica_lag_seconds(params, "preflight")
        unknown = "unknown: received WAL not replayed, no replayed transaction to time"
    return StepResult(
        table,
        [
            expect("replica streaming", streaming, detail=f"{len(table)} WAL sender(s)"),
            compare(
                "replica lag",
                lag,
                "<=",
                max_lag_seconds,
                unit="s",
                detail=unknown if lag is None else "",
            ),
        ],
    )


def extensions(params: Params) -> StepResult:
    """pg_stat_statements is installed and preloaded (later phases read it)."""
    with session(params.primary, params.safety, purpose="preflight", read_only=True) as conn:
        rows = conn.execute(
            "SELECT extname, extversion FROM pg_extension ORDER BY extname"
        ).fetchall()
        preload = scalar(conn, "SHOW shared_preload_libraries")
    table = pd.DataFrame(rows, columns=["extension", "version"])
    installed = "pg_stat_statements" in set(table["extension"])
    return StepResult(
        table,
        [
            expect("pg_stat_statements installed", installed),
            expect("pg_stat_statements preloaded", "pg_stat_statements" in preload),
        ],
    )


def console_rows(conn, command: str) -> pd.DataFrame:
    """A PgBouncer admin console command's answer as a table."""
    cur = conn.execute(command)
    return pd.DataFrame(cur.fetchall(), columns=[c.name for c in cur.description])


def pool_capacity(params: Params, headroom: int = 10) -> StepResult:
    """PgBouncer pools in transaction mode, and its server connections fit the primary."""
    with pgbouncer_console(required(params.pgbouncer, "pgbouncer")) as conn:
        config = console_rows(conn, "SHOW CONFIG").set_index("key")["value"]
        databases = console_rows(conn, "SHOW DATABASES")
    with session(params.primary, params.safety, purpose="preflight", read_only=True) as conn:
        max_connections = int(scalar(conn, "SHOW max_connections"))
        reserved = int(scalar(conn, "SHOW superuser_reserved_connections"))
    app_dbs = databases[databases["name"] != "pgbouncer"]
    pool_sizes = app_dbs["pool_size"].astype(int)
    server_conns = int(pool_sizes.sum())
    available = max_connections - reserved - headroom
    table = pd.DataFrame(
        [
            ("pool_mode", config.get("pool_mode")),
            ("default_pool_size", config.get("default_pool_size")),
            ("max_client_conn", config.get("max_client_conn")),
            ("pooled databases", len(app_dbs)),
            ("server connections (sum of pool sizes)", server_conns),
            ("primary max_connections", max_connections),
            ("primary superuser_reserved_connections", reserved),
        ],
        columns=["setting", "value"],
    )
    return StepResult(
        table,
        [
            expect(
                "PgBouncer pool_mode is transaction",
                config.get("pool_mode") == "transaction",
                detail=f"pool_mode = {config.get('pool_mode')}",
            ),
            compare(
                "PgBouncer server connections fit the primary",
                server_conns,
                "<=",
                available,
                unit="connections",
                detail=f"max_connections {max_connections} - reserved {reserved} "
                f"- headroom {headroom}",
            ),
        ],
    )


def monitoring(params: Params, expected_alerts: set[str] | None = None) -> StepResult:
    """Every Prometheus target is up and every expected alert rule is loaded (default: the
    project's rules, `monitoring/prometheus/alerts.rules.yml`); a missing rule is named."""
    expected = expected_alerts or {alert.name for alert in all_alerts()}
    targets = _prometheus_get(params, "/api/v1/targets")["activeTargets"]
    table = pd.DataFrame(
        [
            {
                "job": t["labels"].get("job"),
                "instance": t["labels"].get("instance"),
                "health": t["health"],
                "last_error": t.get("lastError", ""),
            }
            for t in targets
        ],
        columns=["job", "instance", "health", "last_error"],
    )
    groups = _prometheus_get(params, "/api/v1/rules?type=alert")["groups"]
    loaded = {rule["name"] for group in groups for rule in group["rules"]}
    missing = expected - loaded
    down = table[table["health"] != "up"]
    checks = [
        expect(
            "Prometheus targets up",
            None if table.empty else down.empty,
            detail=", ".join(down["job"]) if len(down) else f"{len(table)} targets",
        ),
        compare(
            "alert rules loaded",
            len(expected & loaded),
            ">=",
            len(expected),
            unit="rules",
            detail=f"missing: {', '.join(sorted(missing))}"
            if missing
            else f"all {len(expected)} expected rules",
        ),
    ]
    return StepResult(table, checks)


def blockers(params: Params, max_age_seconds: float) -> StepResult:
    """Long transactions and idle-in-transaction sessions: they stall CREATE INDEX CONCURRENTLY."""
    with session(params.primary, params.safety, purpose="preflight", read_only=True) as conn:
        cur = conn.execute(BLOCKERS_SQL, {"max_age": max_age_seconds})
        table = pd.DataFrame(cur.fetchall(), columns=[c.name for c in cur.description or ()])
    return StepResult(
        table,
        [
            compare(
                "long or idle-in-transaction sessions",
                len(table),
                "==",
                0,
                detail=f"older than {max_age_seconds:g} s",
            )
        ],
    )


INDEX_SIZE_SQL = """
SELECT c.reltuples::bigint AS rows,
       pg_total_relation_size(c.oid) AS table_bytes,
       coalesce(sum(s.avg_width), 0) AS key_width
FROM pg_class c
LEFT JOIN pg_stats s ON s.tablename = c.relname AND s.attname = ANY(%(columns)s)
     AND s.schemaname = 'public'
WHERE c.oid = to_regclass(%(table)s)
GROUP BY c.reltuples, c.oid
"""


def disk(params: Params, migration: Path = KEYSET_MIGRATION) -> StepResult:
    """Free disk on the primary vs what the migration's index builds need (sort + index).

    Free space is known only when the server's data directory is visible from here
    (the lab); elsewhere the check is `no data` and not required.
    """
    rows = []
    with session(params.primary, params.safety, purpose="preflight", read_only=True) as conn:
        data_directory = scalar(conn, "SHOW data_directory")
        for build in index_builds(migration):
            found = conn.execute(
                INDEX_SIZE_SQL, {"table": build.table, "columns": list(build.columns)}
            ).fetchone()
            if found is None:
                continue
            n_rows, table_bytes, key_width = found
            # B-tree leaf tuple: key + 8 byte header + 4 byte line pointer; 90 % fill factor.
            estimate = int(max(n_rows, 0) * (int(key_width) + 12) / 0.9)
            rows.append((build.name, build.table, table_bytes, estimate))
    table = pd.DataFrame(rows, columns=["index", "table", "table_bytes", "estimated_index_bytes"])
    needed = 2 * int(table["estimated_index_bytes"].sum())  # sort space + the index itself
    free = None
    if params.primary.host in LOOPBACK and Path(data_directory).exists():
        free = shutil.disk_usage(data_directory).free
    check = compare(
        "free disk vs index builds",
        free,
        ">=",
        needed,
        unit="bytes",
        required=free is not None,
        detail=f"needs about {needed / 2**20:,.0f} MiB (2 x estimated index size)",
    )
    return StepResult(table, [check])


# Concepts the later phases compare against; the first group must have data.
BASELINE_REQUIRED = (
    "history_latency_p95_seconds",
    "send_latency_p95_seconds",
    "conversations_latency_p95_seconds",
    "throughput_rps",
    "error_ratio",
    "primary_transactions_per_second",
    "primary_tuples_read_per_second",
    "primary_connections",
)
# No data is expected here before the phase that introduces them (cache, replica reads).
BASELINE_OPTIONAL = ("cache_hit_ratio", "replica_lag_seconds")


BASELINE_MIN_STEADY = timedelta(seconds=60)


def baseline(params: Params, window: str = "10m") -> StepResult:
    """The SLO metrics before the rollout, for later phases to compare against (recorded
    as `baseline`, see `snapshot`).

    A concept without data is recorded as missing (`no data`), not as zero. The window is
    the steady one: no earlier than the first data and the last flag change, if that was
    BASELINE_MIN_STEADY ago at least.
    """
    client = PromClient.from_params(params)
    span = steady_window(params, client, window, BASELINE_MIN_STEADY)
    overrides = params.monitoring.queries
    rows = []
    for name in BASELINE_REQUIRED + BASELINE_OPTIONAL:
        measure = concept(name, overrides)
        rows.append(
            {
                "concept": name,
                "title": measure.title,
                "value": summarise(client, measure, span),
                "unit": measure.unit,
                "window": str(span),
            }
        )
    table = pd.DataFrame(rows)
    required = table[table["concept"].isin(BASELINE_REQUIRED)]
    missing = required.loc[required["value"].isna(), "concept"]
    return StepResult(
        table,
        [
            compare(
                "baseline metrics with data",
                len(required) - len(missing),
                ">=",
                len(required),
                detail=f"missing: {', '.join(missing)}" if len(missing) else "all required",
            )
        ],
        data={"baseline": snapshot(table)},
    )


def snapshot(baseline_table: pd.DataFrame) -> dict[str, float | None]:
    """The baseline as {concept: value} for results.json (None where there was no data)."""
    return {
        row.concept: None if pd.isna(row.value) else float(row.value)
        for row in baseline_table.itertuples()
    }
