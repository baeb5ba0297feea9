"""Catalog lookups, overrides, SLO declarations and comparisons."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from rollbook.params import Params
from rollbook.prom.catalog import ENDPOINTS, UnknownConcept, concept, concepts
from rollbook.prom.params import DEFAULT_SLOS, MonitoringParams
from rollbook.prom.slo import Comparison, comparison_check, slo_score_promql
from rollbook.verdict import Status

REQUIRED = [
    *(f"{e}_latency_p{q}_seconds" for e in ENDPOINTS for q in (50, 95, 99)),
    "throughput_rps", "error_ratio", "pgbouncer_pool_saturation_ratio",
    "pgbouncer_clients_waiting", "pgbouncer_max_wait_seconds", "redis_hit_ratio",
    "postgres_buffer_hit_ratio", "replica_lag_seconds", "replica_lag_bytes",
    "replica_breaker_state", "read_routing_share", "primary_transactions_per_second",
    "primary_tuples_read_per_second", "dead_tuples", "last_autovacuum_age_seconds",
    "table_bloat_ratio", "primary_connections_ratio",
]  # fmt: skip


def test_catalog_has_every_concept_with_a_range_placeholder_filled() -> None:
    catalog = concepts()
    assert set(REQUIRED) <= set(catalog)
    for measure in catalog.values():
        assert "$range" not in measure.query("5m")


def test_window_summary() -> None:
    assert concept("history_latency_p95_seconds").over(timedelta(minutes=30)).endswith("[1800s])))")
    lag = concept("replica_lag_seconds").over(timedelta(hours=1), "30s")
    assert lag == "max_over_time((max(pg_replica_lag_seconds))[3600s:30s])"


def test_overrides_replace_one_query_and_unknown_names_fail() -> None:
    overridden = concepts({"throughput_rps": "sum(rate(http_total[$range]))"})
    assert overridden["throughput_rps"].query("2m") == "sum(rate(http_total[2m]))"
    assert overridden["error_ratio"] == concept("error_ratio")
    with pytest.raises(UnknownConcept, match="no such metric concept: nope"):
        concepts({"nope": "up"})


def test_slo_declarations_in_params() -> None:
    section = MonitoringParams(
        slo=["history_latency_p95_seconds <= 350ms", "error_ratio < 1%",
             {"concept": "throughput_rps", "op": ">=", "threshold": 120}]
    )  # fmt: skip
    assert [(s.concept, s.op, s.threshold) for s in section.slo] == [
        ("history_latency_p95_seconds", "<=", 0.35),
        ("error_ratio", "<", 0.01),
        ("throughput_rps", ">=", 120),
    ]
    assert MonitoringParams().slo == DEFAULT_SLOS
    for bad, message in [
        ({"slo": ["p95(history) <= 1"]}, "cannot read SLO"),
        ({"slo": ["unknown_thing < 1"]}, "no such metric concept"),
        ({"queries": {"unknown_thing": "up"}}, "no such metric concept"),
        ({"extra": 1}, "Extra inputs"),
    ]:
        with pytest.raises(ValidationError, match=message):
            MonitoringParams(**bad)


def test_params_have_monitoring_section() -> None:
    params = Params(
        environment="t",
        primary={"dbname": "chat", "user": "chat"},
        monitoring={"queries": {"redis_up": "min(up)"}},
    )
    assert params.monitoring.queries == {"redis_up": "min(up)"}


def test_comparison_ratio_change_and_missing_data() -> None:
    slower = Comparison("history_latency_p95_seconds", before=0.2, after=0.3)
    assert slower.change == pytest.approx(0.1) and slower.ratio == pytest.approx(1.5)
    assert comparison_check(slower, "<=", 1.2).status is Status.FAIL
    assert comparison_check(slower, "<=", 0.15, on="change").status is Status.PASS
    missing = Comparison("history_latency_p95_seconds", before=None, after=0.3)
    assert comparison_check(missing, "<=", 1.2).status is Status.NO_DATA
    assert Comparison("error_ratio", before=0.0, after=0.1).ratio is None


def test_slo_score_counts_each_slo() -> None:
    promql = slo_score_promql(DEFAULT_SLOS)
    assert promql.endswith(f"/ {len(DEFAULT_SLOS)}") and promql.count("bool") == len(DEFAULT_SLOS)
