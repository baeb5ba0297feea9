"""The workload's view of the flags, and the metrics it exports from the start."""

import logging

from prometheus_client import CollectorRegistry

from rollbook.lab.workload.flagview import FlagView
from rollbook.lab.workload.metrics import WorkloadMetrics

RATES = {"history": 20.0, "send": 4.0, "conversations": 8.0}


def test_defaults_until_flags_are_stored():
    view = FlagView(RATES)
    assert view.rate("history") == 20.0
    assert view.values["cache.history"] == 0
    assert view.values["replica.max_lag_seconds"] == 5.0


def test_stored_flags_override_and_absent_ones_fall_back():
    view = FlagView(RATES)
    view.update([("workload.rate.send", 0), ("pgbouncer.history", 30)])
    assert view.rate("send") == 0 and view.values["pgbouncer.history"] == 30
    view.update([])  # flags deleted: defaults again
    assert view.rate("send") == 4.0 and view.values["pgbouncer.history"] == 0


def test_invalid_stored_values_are_ignored_with_a_warning(caplog):
    view = FlagView(RATES)
    with caplog.at_level(logging.WARNING):
        view.update([("cache.history", 250), ("no.such.flag", 1), ("replica.history", 10)])
    assert view.values["cache.history"] == 0 and view.values["replica.history"] == 10
    assert "cache.history" in caplog.text and "no.such.flag" in caplog.text
    assert "no.such.flag" not in view.values


def samples(registry: CollectorRegistry, metric: str) -> list[dict]:
    """The label sets of every sample called `metric`."""
    return [s.labels for m in registry.collect() for s in m.samples if s.name == metric]


def test_every_label_combination_has_a_sample_from_the_start():
    registry = CollectorRegistry()
    WorkloadMetrics(registry)
    requests = samples(registry, "chat_requests_total")
    # reads: 8 plans (3 families) x 2 outcomes; send: 2 plans (pgbouncer only) x 2 outcomes
    assert len(requests) == 2 * 8 * 2 + 2 * 2
    durations = samples(registry, "chat_request_duration_seconds_count")
    only_replica = {"variant": "canary", "pgbouncer": "baseline", "cache": "baseline"}
    assert {"endpoint": "history", "route": "replica", "replica": "canary", **only_replica} in (
        durations
    )
    plain = {"variant": "baseline", "cache": "baseline", "replica": "baseline"}
    assert {"endpoint": "send", "route": "pgbouncer", "pgbouncer": "baseline", **plain} in (
        durations
    )
    assert not [d for d in durations if d["endpoint"] == "send" and d["route"] == "cache"]
    db = samples(registry, "chat_db_query_duration_seconds_count")
    assert {"operation": "history_next_page", "target": "replica", "via": "direct"} in db
    flags = {s["name"] for s in samples(registry, "chat_flag_value")}
    assert {"cache.history", "workload.rate.send", "fault.send.error_percent"} <= flags
    for single in (
        "chat_cache_invalidations_total",
        "chat_cache_invalidation_duration_seconds_count",
        "chat_replica_breaker_state",
        "chat_replica_lag_seconds",
        "chat_sends_acknowledged_total",
    ):
        assert samples(registry, single) == [{}]


def test_latency_buckets_span_half_a_millisecond_to_ten_seconds():
    registry = CollectorRegistry()
    WorkloadMetrics(registry)
    bounds = {labels["le"] for labels in samples(registry, "chat_request_duration_seconds_bucket")}
    assert {"0.0005", "10.0", "+Inf"} <= bounds
