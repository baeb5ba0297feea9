"""The workload's Prometheus metrics (seconds), every label combination pre-initialised."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from rollbook.flags import ENDPOINTS, KNOWN_FLAGS, READ_ENDPOINTS
from rollbook.lab.workload.selection import VARIANT_LABELS, possible_plans

# Request latency, the canary judge's input: 25 bounds per decade from 1 ms to 100 ms,
# where the endpoints live (9.7 % growth per bucket, so a handful of requests crossing a
# bound moves the interpolated median by a fraction of a millisecond), coarse around them.
FINE_BUCKETS_PER_DECADE = 25
LATENCY_BUCKETS = (
    0.00025,
    0.0005,
    *(float(f"{0.001 * 10 ** (k / FINE_BUCKETS_PER_DECADE):.4g}") for k in range(51)),
    0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
# Database round trips and cache invalidations: 0.5 ms .. 10 s, no judge reads them.
COARSE_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
OUTCOMES = ("ok", "error")
CACHE_RESULTS = ("hit", "miss", "error")
# Where an answer can come from, per endpoint.
ROUTES = {
    "history": ("primary", "replica", "pgbouncer", "cache"),
    "send": ("primary", "pgbouncer"),
    "conversations": ("primary", "replica", "pgbouncer", "cache"),
}
# Database operations and the (target, via) pairs each can use.
DB_TARGETS = {
    "history_first_page": (("primary", "direct"), ("primary", "pgbouncer"), ("replica", "direct")),
    "history_next_page": (("primary", "direct"), ("primary", "pgbouncer"), ("replica", "direct")),
    "conversations": (("primary", "direct"), ("primary", "pgbouncer"), ("replica", "direct")),
    "send": (("primary", "direct"), ("primary", "pgbouncer")),
    "flags_read": (("primary", "direct"),),
    "sample": (("primary", "direct"),),
    "replica_lag": (("replica", "direct"),),
}


class WorkloadMetrics:
    """All metrics of one workload, registered in `registry`."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.request_duration = Histogram(
            "chat_request_duration_seconds",
            "Request latency from its scheduled start, by where the answer came from",
            ["endpoint", "route", *VARIANT_LABELS],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.requests = Counter(
            "chat_requests",
            "Requests by outcome (error includes overload and injected faults)",
            ["endpoint", "outcome", *VARIANT_LABELS],
            registry=registry,
        )
        self.cache_requests = Counter(
            "chat_cache_requests",
            "Cache lookups (send: failed invalidations count as error)",
            ["endpoint", "result"],
            registry=registry,
        )
        self.cache_invalidations = Counter(
            "chat_cache_invalidations", "Cache invalidations after a send", registry=registry
        )
        self.cache_invalidation_duration = Histogram(
            "chat_cache_invalidation_duration_seconds",
            "Time to invalidate a conversation's cache entries",
            buckets=COARSE_BUCKETS,
            registry=registry,
        )
        self.db_query_duration = Histogram(
            "chat_db_query_duration_seconds",
            "Database round trip (transaction) time",
            ["operation", "target", "via"],
            buckets=COARSE_BUCKETS,
            registry=registry,
        )
        self.breaker_state = Gauge(
            "chat_replica_breaker_state",
            "Replica circuit breaker: 0 closed, 1 half-open, 2 open",
            registry=registry,
        )
        self.replica_lag = Gauge(
            "chat_replica_lag_seconds", "Replica replay lag seen by the workload", registry=registry
        )
        self.sends_acknowledged = Counter(
            "chat_sends_acknowledged", "Sends acknowledged after their commit", registry=registry
        )
        self.flag_value = Gauge(
            "chat_flag_value", "Flag values in effect in the workload", ["name"], registry=registry
        )
        self._preinitialise()

    def _preinitialise(self) -> None:
        for endpoint in ENDPOINTS:
            for plan in possible_plans(endpoint):
                for route in ROUTES[endpoint]:
                    self.request_duration.labels(endpoint, route, *plan.labels())
                for outcome in OUTCOMES:
                    self.requests.labels(endpoint, outcome, *plan.labels())
        for endpoint in READ_ENDPOINTS:
            for result in CACHE_RESULTS:
                self.cache_requests.labels(endpoint, result)
        self.cache_requests.labels("send", "error")
        for operation, pairs in DB_TARGETS.items():
            for target, via in pairs:
                self.db_query_duration.labels(operation, target, via)
        for name in KNOWN_FLAGS:
            self.flag_value.labels(name)
