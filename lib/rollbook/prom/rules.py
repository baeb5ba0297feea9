"""Prometheus alert and recording rules, generated from the metric catalog.

Every alert is a catalog concept compared with a threshold; SLO alerts take their
thresholds from `DEFAULT_SLOS`. `write_rules()` renders `monitoring/prometheus/*.rules.yml`;
a test keeps the committed files equal to what this module renders.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from rollbook import resources
from rollbook.errors import InputError
from rollbook.prom.catalog import Concept, concept
from rollbook.prom.params import DEFAULT_SLOS
from rollbook.prom.slo import slo_score_promql

RULE_RANGE = "1m"
RULES_DIR = resources.folder("monitoring") / "prometheus"

SLO_DASHBOARD = "notebooks/slo_dashboard.ipynb"
EXPLAIN_EXPLORER = "notebooks/explain_explorer.ipynb"
# The notebook that investigates each concept group (runbook_url of its alerts); an alert
# may name its own (`Alert.runbook`). Open it with `-p alert <name>` for the alert's context.
RUNBOOKS = {
    "latency": SLO_DASHBOARD,
    "traffic": SLO_DASHBOARD,
    "errors": SLO_DASHBOARD,
    "pgbouncer": SLO_DASHBOARD,
    "cache": SLO_DASHBOARD,
    "replica": SLO_DASHBOARD,
    "primary": SLO_DASHBOARD,
    "queries": EXPLAIN_EXPLORER,
    "vacuum": SLO_DASHBOARD,
}

_NEGATION = {"<": ">=", "<=": ">", ">": "<=", ">=": "<"}
_HUMANIZE = {"s": "humanizeDuration", "ratio": "humanizePercentage"}


def number(value: float) -> str:
    """A threshold as PromQL text, exact (no exponent rounding)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def readable(value: float, unit: str) -> str:
    """A threshold for people: bytes in binary units (1 GiB), anything else as `%g unit`."""
    if unit == "bytes":
        for power, prefix in ((3, "Gi"), (2, "Mi"), (1, "Ki")):
            if value >= 1024**power:
                return f"{value / 1024**power:g} {prefix}B"
    return f"{value:g} {unit}"


def slo_threshold(name: str) -> float:
    """The default SLO threshold of a concept (defined once, in `DEFAULT_SLOS`)."""
    return next(s.threshold for s in DEFAULT_SLOS if s.concept == name)


def comparison(concept_name: str, op: str, threshold: float) -> str:
    """PromQL: a concept (at the rules' range) compared with a threshold."""
    return f"({concept(concept_name).query(RULE_RANGE)}) {op} {number(threshold)}"


@dataclass(frozen=True)
class Guard:
    """A second condition an alert needs (`concept op threshold`, same labels), e.g. a
    minimum size so a small table's high bloat ratio does not page anyone."""

    concept: str
    op: str
    threshold: float

    def expr(self) -> str:
        return comparison(self.concept, self.op, self.threshold)


@dataclass(frozen=True)
class Alert:
    """Fire when `concept op threshold` (and the guard, if any) holds for `for_`."""

    name: str
    concept: str
    op: str
    threshold: float
    for_: str
    severity: str
    summary: str
    runbook: str | None = None  # default: RUNBOOKS of the concept's group
    guard: Guard | None = None

    @property
    def runbook_url(self) -> str:
        return self.runbook or RUNBOOKS[self.measure.group]

    @property
    def measure(self) -> Concept:
        return concept(self.concept)

    @property
    def expr(self) -> str:
        own = comparison(self.concept, self.op, self.threshold)
        return own if self.guard is None else f"{own} and {self.guard.expr()}"

    def rule(self) -> dict:
        measure = self.measure
        fmt = _HUMANIZE.get(measure.unit, "humanize")
        # the legend ("{{relname}}") names the series; in an alert it reads its labels
        labels = measure.legend.replace("{{", "{{ $labels.").replace("}}", " }}")
        guard = self.guard
        also = (
            ""
            if guard is None
            else f" and {concept(guard.concept).title.lower()} {guard.op} "
            + readable(guard.threshold, concept(guard.concept).unit)
        )
        return {
            "alert": self.name,
            "expr": self.expr,
            "for": self.for_,
            "labels": {"severity": self.severity, "concept": self.concept},
            "annotations": {
                "summary": self.summary,
                "description": (
                    f"{measure.title} {labels}".rstrip() + f" is {{{{ $value | {fmt} }}}} "
                    f"({self.op} {self.threshold:g} {measure.unit}{also} for {self.for_})."
                ),
                "runbook_url": self.runbook_url,
            },
        }


def _slo_alert(name: str, concept_name: str, for_: str, summary: str) -> Alert:
    slo = next(s for s in DEFAULT_SLOS if s.concept == concept_name)
    return Alert(name, concept_name, _NEGATION[slo.op], slo.threshold, for_, "critical", summary)


ALERTS: dict[str, list[Alert]] = {
    "rollbook-latency": [
        Alert("QueryLatencyHigh", "db_query_p95_seconds", ">", 0.5, "5m", "warning",
              "Database query p95 above 500 ms", EXPLAIN_EXPLORER),
        Alert("QueryLatencyCritical", "db_query_p95_seconds", ">", 1, "2m", "critical",
              "Database query p95 above 1 s", EXPLAIN_EXPLORER),
    ],
    "rollbook-pgbouncer": [
        Alert("PgBouncerPoolSaturationHigh", "pgbouncer_pool_saturation_ratio", ">", 0.8, "2m",
              "warning", "PgBouncer pool over 80 % in use"),
        Alert("PgBouncerPoolSaturationCritical", "pgbouncer_pool_saturation_ratio", ">", 0.9,
              "1m", "critical", "PgBouncer pool over 90 % in use"),
        Alert("PgBouncerQueueWaitHigh", "pgbouncer_queue_wait_seconds", ">", 0.05, "3m",
              "warning", "Clients wait over 50 ms for a PgBouncer server connection"),
        Alert("PgBouncerDown", "pgbouncer_up", "<", 1, "1m", "critical", "PgBouncer is down"),
    ],
    "rollbook-cache": [
        Alert("CacheHitRatioLow", "cache_hit_ratio", "<", 0.5, "10m", "warning",
              "Cache hit ratio below 50 %"),
        Alert("RedisDown", "redis_up", "<", 1, "1m", "critical", "Redis is down"),
        Alert("CacheInvalidationSlow", "cache_invalidation_p95_seconds", ">", 0.1, "5m",
              "warning", "Cache invalidation p95 above 100 ms"),
    ],
    "rollbook-replica": [
        Alert("ReplicaLagHigh", "replica_lag_seconds", ">", 10, "5m", "warning",
              "Replica more than 10 s behind"),
        Alert("ReplicaLagCritical", "replica_lag_seconds", ">", 30, "2m", "critical",
              "Replica more than 30 s behind"),
        Alert("ReplicaByteLagHigh", "replica_lag_bytes", ">", 64 * 2**20, "5m", "warning",
              "Replica more than 64 MiB of WAL behind"),
        Alert("ReplicaBreakerOpen", "replica_breaker_state", ">=", 2, "1m", "critical",
              "Replica circuit breaker open: reads fall back to the primary"),
        Alert("ReplicaDown", "replica_up", "<", 1, "1m", "critical", "Replica is down"),
    ],
    "rollbook-vacuum": [
        Alert("TableBloatHigh", "table_bloat_ratio", ">", 0.2, "1h", "warning",
              "Table bloat above 20 % and 100 MiB",
              guard=Guard("table_bloat_bytes", ">", 100 * 2**20)),
        Alert("TableBloatCritical", "table_bloat_ratio", ">", 0.3, "30m", "critical",
              "Table bloat above 30 % and 1 GiB", guard=Guard("table_bloat_bytes", ">", 2**30)),
        Alert("VacuumStale", "last_autovacuum_age_seconds", ">", 86400, "10m", "warning",
              "Table not vacuumed for 24 h"),
        Alert("DeadTuplesHigh", "dead_tuples", ">", 100_000, "15m", "warning",
              "More than 100k dead tuples in a table"),
        Alert("PrimaryConnectionsHigh", "primary_connections_ratio", ">", 0.8, "5m", "warning",
              "Primary connections above 80 % of max_connections"),
    ],
    "rollbook-errors-slo": [
        Alert("ErrorRateHigh", "error_ratio", ">", slo_threshold("error_ratio"), "5m",
              "warning", "Error rate above the SLO"),
        Alert("ErrorRateCritical", "error_ratio", ">", 0.05, "2m", "critical",
              "Error rate above 5 %"),
        _slo_alert("HistoryLatencySLOViolation", "history_latency_p95_seconds", "5m",
                   "History p95 latency violates its SLO"),
        _slo_alert("SendLatencySLOViolation", "send_latency_p95_seconds", "5m",
                   "Send p95 latency violates its SLO"),
        _slo_alert("ThroughputSLOViolation", "throughput_rps", "5m",
                   "Throughput below its SLO"),
    ],
}  # fmt: skip

# level:metric:operations -> concept (or PromQL)
RECORDING_RULES: dict[str, str] = {
    "endpoint:chat_request_duration_seconds:p95_rate1m": "latency_p95_by_endpoint_seconds",
    "endpoint:chat_request_duration_seconds:p99_rate1m": "latency_p99_by_endpoint_seconds",
    "endpoint:chat_requests:error_ratio_rate1m": "error_ratio_by_endpoint",
    "service:chat_cache_requests:hit_ratio_rate1m": "cache_hit_ratio",
    "service:redis_keyspace:hit_ratio_rate1m": "redis_hit_ratio",
}
SLO_SCORE_RECORD = "service:chat_slo:score_rate1m"


class UnknownAlert(InputError, KeyError):
    """An alert name the rules do not define."""

    def __str__(self) -> str:
        return self.args[0]


def all_alerts() -> list[Alert]:
    return [a for alerts in ALERTS.values() for a in alerts]


def find_alert(name: str) -> Alert:
    """The alert called `name`, or UnknownAlert listing the known names."""
    for alert in all_alerts():
        if alert.name == name:
            return alert
    known = ", ".join(sorted(a.name for a in all_alerts()))
    raise UnknownAlert(f"no such alert: {name!r}; known alerts: {known}")


def alert_rules() -> dict:
    return {
        "groups": [
            {"name": group, "rules": [a.rule() for a in alerts]} for group, alerts in ALERTS.items()
        ]
    }


def recording_rules() -> dict:
    rules = [
        {"record": record, "expr": concept(name).query(RULE_RANGE)}
        for record, name in RECORDING_RULES.items()
    ]
    rules.append({"record": SLO_SCORE_RECORD, "expr": slo_score_promql(DEFAULT_SLOS, RULE_RANGE)})
    return {"groups": [{"name": "rollbook-records", "interval": "15s", "rules": rules}]}


def render(rules: dict) -> str:
    header = "# Generated by `rollbook prom rules` from lib/rollbook/prom; do not edit.\n"
    return header + yaml.safe_dump(rules, sort_keys=False, width=100)


def rule_files() -> dict[str, str]:
    """File name -> content of every rules file."""
    return {
        "alerts.rules.yml": render(alert_rules()),
        "records.rules.yml": render(recording_rules()),
    }


def write_rules(directory: Path = RULES_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in rule_files().items():
        (directory / name).write_text(text)
        written.append(directory / name)
    return written
