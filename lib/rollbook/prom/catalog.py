"""The metric catalog: every named concept with its PromQL, unit and default SLOs.

Runbooks, charts, SLO checks, alert rules, recording rules and the Grafana dashboard all
read these definitions, so a query or a threshold is written once. PromQL uses `$range`
for the rate window; `Concept.query()` fills it in (charts, rules, Grafana use different
ranges) and `Concept.over()` summarises a whole window in one instant query.

Selectors assume the lab's scrape jobs (`postgres_primary`, `postgres_replica`, ...);
another environment overrides any query by name in its params (`monitoring.queries`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from rollbook.errors import InputError
from rollbook.prom.window import promql_duration

PRIMARY = 'job="postgres_primary"'
REPLICA = 'job="postgres_replica"'
ENDPOINTS = ("history", "send", "conversations")
PERCENTILES = (50, 95, 99)

# How a concept is summarised over a window (SLO checks, before/after comparisons):
# `rate` - evaluate once at the window's end with `$range` = the whole window
#          (exact percentiles and ratios over the window);
# `max`, `min`, `avg` - that aggregation over time of the concept's series.
SUMMARIES = ("rate", "max", "min", "avg")


class UnknownConcept(InputError, KeyError):
    """A concept name the catalog does not define."""

    def __str__(self) -> str:
        return self.args[0]


@dataclass(frozen=True)
class Concept:
    """One named measurement."""

    name: str
    title: str
    promql: str
    unit: str  # s, ratio, req/s, bytes, count, state, ops/s
    group: str  # latency, traffic, errors, pgbouncer, cache, replica, primary, vacuum, queries
    summary: str = "rate"
    description: str = ""
    legend: str = ""  # Grafana legend format, e.g. "{{endpoint}}"

    def query(self, range_: str | timedelta = "1m") -> str:
        """The concept as a time series, rates over `range_`."""
        text = range_ if isinstance(range_, str) else promql_duration(range_)
        return self.promql.replace("$range", text)

    def over(self, window: timedelta, step: str | timedelta = "15s") -> str:
        """One instant query summarising the window that ends at the evaluation time."""
        if self.summary == "rate":
            return self.query(window)
        inner = self.query("1m")
        step_text = step if isinstance(step, str) else promql_duration(step)
        return f"{self.summary}_over_time(({inner})[{promql_duration(window)}:{step_text}])"

    def with_query(self, promql: str) -> Concept:
        return replace(self, promql=promql)


def _quantile(q: int, metric: str, selector: str = "", by: str = "") -> str:
    labels = ", ".join(filter(None, ["le", by]))
    return (
        f"histogram_quantile({q / 100:g}, sum by ({labels}) "
        f"(rate({metric}_bucket{selector}[$range])))"
    )


def _ratio(part: str, whole: str) -> str:
    return f"({part}) / ({whole})"


def _share(part: str, whole: str) -> str:
    """part / whole, reading 0 (not empty) while the part has no series yet (no errors...)."""
    return f"({part}) / ({whole}) or ({whole}) * 0"


def _latency() -> list[Concept]:
    concepts = [
        Concept(
            name=f"{endpoint}_latency_p{q}_seconds",
            title=f"{endpoint.title()} p{q} latency",
            promql=_quantile(q, "chat_request_duration_seconds", f'{{endpoint="{endpoint}"}}'),
            unit="s",
            group="latency",
            description=f"{q}th percentile of {endpoint} request latency (from scheduled time)",
        )
        for endpoint in ENDPOINTS
        for q in PERCENTILES
    ]
    concepts += [
        Concept(
            name=f"latency_p{q}_by_endpoint_seconds",
            title=f"p{q} latency by endpoint",
            promql=_quantile(q, "chat_request_duration_seconds", by="endpoint"),
            unit="s",
            group="latency",
            legend="{{endpoint}}",
        )
        for q in PERCENTILES
    ]
    concepts.append(
        Concept(
            name="db_query_p95_seconds",
            title="Database query p95 latency",
            promql=_quantile(95, "chat_db_query_duration_seconds", by="target, via"),
            unit="s",
            group="latency",
            description="p95 of the workload's database queries by target and path",
            legend="{{target}} via {{via}}",
        )
    )
    return concepts


_REQUESTS = "sum(rate(chat_requests_total[$range]))"
_CACHE_REQUESTS = "sum(rate(chat_cache_requests_total[$range]))"
_REDIS_HITS = "sum(rate(redis_keyspace_hits_total[$range]))"
_PG_HITS = f'sum(rate(pg_stat_database_blks_hit{{{PRIMARY},datid!="0"}}[$range]))'
_ROUTED = "sum by (route) (rate(chat_request_duration_seconds_count[$range]))"


def _traffic_and_cache() -> list[Concept]:
    return [
        Concept("throughput_rps", "Throughput", _REQUESTS, "req/s", "traffic"),
        Concept(
            "throughput_by_endpoint_rps",
            "Throughput by endpoint",
            "sum by (endpoint) (rate(chat_requests_total[$range]))",
            "req/s",
            "traffic",
            legend="{{endpoint}}",
        ),
        Concept(
            "sends_acknowledged_rps",
            "Acknowledged sends",
            "sum(rate(chat_sends_acknowledged_total[$range]))",
            "req/s",
            "traffic",
        ),
        Concept(
            "error_ratio",
            "Error rate",
            _share('sum(rate(chat_requests_total{outcome="error"}[$range]))', _REQUESTS),
            "ratio",
            "errors",
        ),
        Concept(
            "error_ratio_by_endpoint",
            "Error rate by endpoint",
            _share(
                'sum by (endpoint) (rate(chat_requests_total{outcome="error"}[$range]))',
                "sum by (endpoint) (rate(chat_requests_total[$range]))",
            ),
            "ratio",
            "errors",
            legend="{{endpoint}}",
        ),
        Concept(
            "read_routing_share",
            "Read routing",
            f"{_ROUTED} / ignoring(route) group_left sum({_ROUTED})",
            "ratio",
            "replica",
            description="share of requests served by each route (primary, replica, pgbouncer, "
            "cache)",
            legend="{{route}}",
        ),
        Concept(
            "cache_hit_ratio",
            "Application cache hit ratio",
            _share('sum(rate(chat_cache_requests_total{result="hit"}[$range]))', _CACHE_REQUESTS),
            "ratio",
            "cache",
        ),
        Concept(
            "cache_operations_rps",
            "Cache operations",
            "sum by (result) (rate(chat_cache_requests_total[$range]))",
            "ops/s",
            "cache",
            legend="{{result}}",
        ),
        Concept(
            "cache_invalidation_p95_seconds",
            "Cache invalidation p95",
            _quantile(95, "chat_cache_invalidation_duration_seconds"),
            "s",
            "cache",
        ),
        Concept(
            "redis_hit_ratio",
            "Redis keyspace hit ratio",
            _ratio(_REDIS_HITS, f"{_REDIS_HITS} + sum(rate(redis_keyspace_misses_total[$range]))"),
            "ratio",
            "cache",
        ),
        Concept("redis_up", "Redis up", "min(redis_up)", "state", "cache", summary="min"),
        Concept(
            "postgres_buffer_hit_ratio",
            "PostgreSQL buffer cache hit ratio (primary)",
            _ratio(
                _PG_HITS,
                f'{_PG_HITS} + sum(rate(pg_stat_database_blks_read{{{PRIMARY},datid!="0"}}'
                "[$range]))",
            ),
            "ratio",
            "cache",
        ),
    ]


def _gauge(name: str, title: str, promql: str, unit: str, group: str, **kw: str) -> Concept:
    return Concept(name, title, promql, unit, group, summary=kw.pop("summary", "max"), **kw)


def _pgbouncer() -> list[Concept]:
    waited = "sum(rate(pgbouncer_stats_waiting_duration_microseconds_total[$range]))"
    return [
        _gauge(
            "pgbouncer_pool_saturation_ratio",
            "PgBouncer pool saturation",
            "sum(pgbouncer_pools_server_active_connections) "
            "/ sum(pgbouncer_databases_database_pool_size)",
            "ratio",
            "pgbouncer",
            description="server connections in use over the configured pool size",
        ),
        _gauge(
            "pgbouncer_clients_waiting",
            "PgBouncer clients waiting",
            "sum(pgbouncer_pools_client_waiting_connections)",
            "count",
            "pgbouncer",
        ),
        _gauge(
            "pgbouncer_max_wait_seconds",
            "PgBouncer longest client wait",
            "max(pgbouncer_pools_client_maxwait_seconds)",
            "s",
            "pgbouncer",
        ),
        Concept(
            "pgbouncer_queue_wait_seconds",
            "PgBouncer mean queue wait per transaction",
            _ratio(f"{waited} / 1e6", "sum(rate(pgbouncer_stats_transactions_total[$range]))"),
            "s",
            "pgbouncer",
        ),
        _gauge(
            "pgbouncer_pool_connections",
            "PgBouncer pool status",
            "sum by (state) (label_replace(pgbouncer_pools_server_active_connections, "
            '"state", "server active", "", "") or label_replace('
            'pgbouncer_pools_server_idle_connections, "state", "server idle", "", "") or '
            "label_replace(pgbouncer_pools_client_active_connections, "
            '"state", "client active", "", "") or label_replace('
            'pgbouncer_pools_client_waiting_connections, "state", "client waiting", "", ""))',
            "count",
            "pgbouncer",
            legend="{{state}}",
        ),
        _gauge(
            "pgbouncer_up", "PgBouncer up", "min(pgbouncer_up)", "state", "pgbouncer", summary="min"
        ),
    ]


def _replica() -> list[Concept]:
    return [
        _gauge(
            "replica_lag_seconds",
            "Replica replay lag",
            "max(pg_replica_lag_seconds)",
            "s",
            "replica",
            description="seconds behind the primary; 0 while everything received is replayed "
            "(idle-primary fix), so watch byte lag too",
        ),
        _gauge(
            "replica_lag_bytes",
            "Replica byte lag (on the primary)",
            f"max(pg_stat_replication_pg_wal_lsn_diff{{{PRIMARY}}})",
            "bytes",
            "replica",
        ),
        _gauge(
            "replica_up",
            "Replica up",
            f"min(pg_up{{{REPLICA}}})",
            "state",
            "replica",
            summary="min",
        ),
        _gauge(
            "replica_breaker_state",
            "Replica circuit breaker",
            "max(chat_replica_breaker_state)",
            "state",
            "replica",
            description="0 closed, 1 half-open, 2 open (reads fall back to the primary)",
        ),
        _gauge(
            "workload_replica_lag_seconds",
            "Replica lag seen by the workload",
            "max(chat_replica_lag_seconds)",
            "s",
            "replica",
        ),
    ]


def _primary() -> list[Concept]:
    db = f'{PRIMARY},datid!="0"'
    return [
        Concept(
            "primary_transactions_per_second",
            "Primary transactions",
            f"sum(rate(pg_stat_database_xact_commit{{{db}}}[$range]))"
            f" + sum(rate(pg_stat_database_xact_rollback{{{db}}}[$range]))",
            "ops/s",
            "primary",
        ),
        Concept(
            "primary_tuples_read_per_second",
            "Primary tuples read",
            f"sum(rate(pg_stat_database_tup_returned{{{db}}}[$range]))"
            f" + sum(rate(pg_stat_database_tup_fetched{{{db}}}[$range]))",
            "ops/s",
            "primary",
        ),
        Concept(
            "primary_tuples_written_per_second",
            "Primary tuples written",
            " + ".join(
                f"sum(rate(pg_stat_database_tup_{kind}{{{db}}}[$range]))"
                for kind in ("inserted", "updated", "deleted")
            ),
            "ops/s",
            "primary",
        ),
        _gauge(
            "primary_connections",
            "Primary connections",
            f"sum(pg_stat_activity_count{{{PRIMARY}}})",
            "count",
            "primary",
        ),
        _gauge(
            "primary_connections_ratio",
            "Primary connections / max_connections",
            f"sum(pg_stat_activity_count{{{PRIMARY}}})"
            f" / max(pg_settings_max_connections{{{PRIMARY}}})",
            "ratio",
            "primary",
        ),
    ]


def _vacuum_and_queries() -> list[Concept]:
    def tables(column: str) -> str:
        return f"pg_stat_user_tables_{column}{{{PRIMARY}}}"

    return [
        _gauge(
            "dead_tuples",
            "Dead tuples",
            f"sum by (relname) ({tables('n_dead_tup')})",
            "count",
            "vacuum",
            legend="{{relname}}",
        ),
        _gauge(
            "live_tuples",
            "Live tuples",
            f"sum by (relname) ({tables('n_live_tup')})",
            "count",
            "vacuum",
            legend="{{relname}}",
        ),
        _gauge(
            "last_autovacuum_age_seconds",
            "Time since last vacuum",
            f"max by (relname) ({tables('last_vacuum_age_seconds')})",
            "s",
            "vacuum",
            description="seconds since the last (auto)vacuum; since server start if never",
            legend="{{relname}}",
        ),
        _gauge(
            "table_bloat_ratio",
            "Table bloat (estimate)",
            f"max by (relname) (pg_table_bloat_ratio{{{PRIMARY}}})",
            "ratio",
            "vacuum",
            description="share of the table's pages not needed for its live rows (estimate)",
            legend="{{relname}}",
        ),
        _gauge(
            "table_bloat_bytes",
            "Table bloat size (estimate)",
            f"max by (relname) (pg_table_bloat_wasted_bytes{{{PRIMARY}}})",
            "bytes",
            "vacuum",
            description="bytes of the table's pages not needed for its live rows (estimate)",
            legend="{{relname}}",
        ),
        Concept(
            "statement_mean_time_seconds",
            "Statement mean execution time",
            f"sum by (queryid, query) (rate(pg_stat_statements_total_exec_time_seconds"
            f"{{{PRIMARY}}}[$range])) / sum by (queryid, query) (rate(pg_stat_statements_calls"
            f"{{{PRIMARY}}}[$range]) > 0)",
            "s",
            "queries",
            legend="{{query}}",
        ),
        Concept(
            "statement_calls_per_second",
            "Statement calls",
            f"sum by (queryid, query) (rate(pg_stat_statements_calls{{{PRIMARY}}}[$range]))",
            "ops/s",
            "queries",
            legend="{{query}}",
        ),
    ]


_CATALOG: dict[str, Concept] = {
    c.name: c
    for c in [*_latency(), *_traffic_and_cache(), *_pgbouncer(), *_replica(), *_primary()]
    + _vacuum_and_queries()
}


def concepts(overrides: dict[str, str] | None = None) -> dict[str, Concept]:
    """All concepts by name, with the PromQL of `overrides` (name -> query) replacing ours."""
    overrides = overrides or {}
    unknown = sorted(set(overrides) - set(_CATALOG))
    if unknown:
        raise UnknownConcept(f"no such metric concept: {', '.join(unknown)}")
    return {
        name: c.with_query(overrides[name]) if name in overrides else c
        for name, c in _CATALOG.items()
    }


def concept(name: str, overrides: dict[str, str] | None = None) -> Concept:
    """One concept by name (with an override applied)."""
    if name not in _CATALOG:
        raise UnknownConcept(f"no such metric concept: {name!r}")
    return concepts({k: v for k, v in (overrides or {}).items() if k == name})[name]
