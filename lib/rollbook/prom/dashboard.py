"""The Grafana dashboard, generated from the metric catalog (17 panels).

Panel queries are catalog concepts (rate window `$__rate_interval`); threshold lines come
from the default SLOs and the alert rules, so no number is written twice.
`rollbook prom dashboard` writes `monitoring/grafana/rollbook.json`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from rollbook.prom.catalog import concept
from rollbook.prom.params import DEFAULT_SLOS
from rollbook.prom.rules import ALERTS
from rollbook.prom.slo import slo_score_promql

GRAFANA_RANGE = "$__rate_interval"
SLO_SCORE = "SLOs met"  # legend of the SLO compliance score target
_UNITS = {
    "s": "s",
    "ratio": "percentunit",
    "req/s": "reqps",
    "ops/s": "ops",
    "bytes": "bytes",
    "count": "short",
    "state": "short",
}
_WIDTH, _HEIGHT = 12, 8


@dataclass(frozen=True)
class Panel:
    """One dashboard panel: catalog concepts (or PromQL) drawn one way."""

    title: str
    concepts: tuple[str, ...]
    kind: str = "timeseries"  # timeseries, table, piechart, stat
    unit: str | None = None  # Grafana unit; default from the first concept
    topk: int | None = None
    extra: dict[str, str] = field(default_factory=dict)  # legend -> PromQL not in the catalog

    def queries(self) -> list[tuple[str, str]]:
        """(legend, PromQL) of every target."""
        targets = []
        for name in self.concepts:
            measure = concept(name)
            promql = measure.query(GRAFANA_RANGE)
            if self.topk:
                promql = f"topk({self.topk}, {promql})"
            targets.append((measure.legend or measure.title, promql))
        return targets + list(self.extra.items())

    def thresholds(self) -> list[float]:
        """SLO and alert thresholds of the panel's concepts."""
        values = {s.threshold for s in DEFAULT_SLOS if s.concept in self.concepts}
        values |= {
            a.threshold for alerts in ALERTS.values() for a in alerts if a.concept in self.concepts
        }
        return sorted(values)

    def grafana_unit(self) -> str:
        return self.unit or _UNITS[concept(self.concepts[0]).unit]


def panels() -> list[Panel]:
    """The dashboard's panels, in display order."""
    return [
        Panel(
            "Latency percentiles (SLO lines)",
            ("latency_p50_by_endpoint_seconds", "latency_p95_by_endpoint_seconds",
             "latency_p99_by_endpoint_seconds", "history_latency_p95_seconds",
             "send_latency_p95_seconds"),
        ),
        Panel("Requests per second", ("throughput_by_endpoint_rps", "throughput_rps")),
        Panel("PgBouncer pool saturation", ("pgbouncer_pool_saturation_ratio",)),
        Panel("Cache hit ratio",
              ("cache_hit_ratio", "redis_hit_ratio", "postgres_buffer_hit_ratio")),
        Panel("Replica lag", ("replica_lag_seconds", "workload_replica_lag_seconds")),
        Panel("Replica circuit breaker", ("replica_breaker_state",), kind="stat"),
        Panel("Error rate by endpoint", ("error_ratio_by_endpoint", "error_ratio")),
        Panel("PgBouncer queue wait",
              ("pgbouncer_queue_wait_seconds", "pgbouncer_max_wait_seconds")),
        Panel("Query performance", ("statement_calls_per_second", "statement_mean_time_seconds"),
              kind="table", unit="short", topk=20),
        Panel("Table bloat", ("table_bloat_ratio",), kind="table"),
        Panel("Vacuum", ("last_autovacuum_age_seconds", "dead_tuples", "live_tuples"),
              kind="table", unit="short"),
        Panel("Dead tuples", ("dead_tuples",)),
        Panel("Cache operations", ("cache_operations_rps", "cache_invalidation_p95_seconds"),
              unit="short"),
        Panel("Slowest statements (mean time)", ("statement_mean_time_seconds",), topk=10),
        Panel("Read routing", ("read_routing_share",), kind="piechart"),
        Panel("PgBouncer pool status", ("pgbouncer_pool_connections", "pgbouncer_clients_waiting")),
        Panel("SLO compliance score", (), kind="stat", unit="percentunit",
              extra={SLO_SCORE: slo_score_promql(DEFAULT_SLOS, GRAFANA_RANGE)}),
    ]  # fmt: skip


def _panel_json(number: int, panel: Panel) -> dict:
    table = panel.kind == "table"
    steps: list[dict[str, str | float | None]] = [{"color": "green", "value": None}]
    steps += [{"color": "red", "value": value} for value in panel.thresholds()]
    return {
        "id": number + 1,
        "type": panel.kind,
        "title": panel.title,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {
            "x": (number % 2) * _WIDTH,
            "y": (number // 2) * _HEIGHT,
            "w": _WIDTH,
            "h": _HEIGHT,
        },
        "targets": [
            {
                "refId": chr(ord("A") + i),
                "expr": promql,
                "legendFormat": legend,
                "instant": table or panel.kind in ("piechart", "stat"),
                "format": "table" if table else "time_series",
            }
            for i, (legend, promql) in enumerate(panel.queries())
        ],
        "fieldConfig": {
            "defaults": {
                "unit": panel.grafana_unit(),
                "thresholds": {"mode": "absolute", "steps": steps},
                "custom": {"thresholdsStyle": {"mode": "line"}}
                if panel.kind == "timeseries"
                else {},
            },
            "overrides": [],
        },
        "transformations": [{"id": "merge"}] if table else [],
        "options": {},
    }


def dashboard() -> dict:
    """Grafana dashboard JSON (schema 37, Grafana 9+), datasource chosen by a variable."""
    return {
        "uid": "rollbook",
        "title": "rollbook: chat data layer",
        "tags": ["rollbook", "postgresql", "pgbouncer", "redis"],
        "schemaVersion": 37,
        "version": 1,
        "editable": True,
        "refresh": "30s",
        "time": {"from": "now-1h", "to": "now"},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "type": "datasource",
                    "query": "prometheus",
                    "label": "Prometheus",
                }
            ]
        },
        "panels": [_panel_json(i, p) for i, p in enumerate(panels())],
    }


def render() -> str:
    return json.dumps(dashboard(), indent=2) + "\n"
