"""promtool: the generated rule files are valid, current, and every alert fires and stays quiet.

The cases below hold concrete raw-metric inputs (written by hand, not derived from the rule
definitions): for each alert one input just over its threshold (silent before `for:` has
elapsed, firing after) and one just under it (silent).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from rollbook.prom.rules import ALERTS, RULES_DIR, rule_files

PROMTOOL = shutil.which("promtool")
pytestmark = pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed")
STEPS = 400  # 15 s samples: 100 minutes of input
BUCKETS = ["0.05", "0.1", "0.25", "0.35", "0.5", "1", "2.5", "+Inf"]
PRIMARY = 'job="postgres_primary"'


def gauge(series: str, value: float) -> dict:
    return {"series": series, "values": f"{value}x{STEPS}"}


def counter(series: str, per_sample: float) -> dict:
    return {"series": series, "values": f"0+{per_sample}x{STEPS}"}


def histogram(metric: str, labels: str, upper: str) -> list[dict]:
    """All observations (10 per sample) fall in the bucket ending at `upper`."""
    sep = "," if labels else ""
    return [
        counter(f'{metric}_bucket{{{labels}{sep}le="{le}"}}', 10)
        if BUCKETS.index(le) >= BUCKETS.index(upper)
        else gauge(f'{metric}_bucket{{{labels}{sep}le="{le}"}}', 0)
        for le in BUCKETS
    ]


def requests(ok: float, error: float) -> list[dict]:
    return [
        counter('chat_requests_total{endpoint="history",outcome="ok"}', ok),
        counter('chat_requests_total{endpoint="history",outcome="error"}', error),
    ]


def pool(active: int) -> list[dict]:
    return [
        gauge('pgbouncer_pools_server_active_connections{database="chat"}', active),
        gauge('pgbouncer_databases_database_pool_size{name="chat"}', 20),
    ]


def queue(wait_us: float) -> list[dict]:
    return [
        counter("pgbouncer_stats_transactions_total", 150),
        counter("pgbouncer_stats_waiting_duration_microseconds_total", wait_us),
    ]


def cache(hits: float, misses: float) -> list[dict]:
    return [
        counter('chat_cache_requests_total{endpoint="history",result="hit"}', hits),
        counter('chat_cache_requests_total{endpoint="history",result="miss"}', misses),
    ]


def connections(active: int) -> list[dict]:
    return [
        gauge(f'pg_stat_activity_count{{{PRIMARY},state="active"}}', active),
        gauge(f"pg_settings_max_connections{{{PRIMARY}}}", 100),
    ]


DB = "chat_db_query_duration_seconds"
REQ = "chat_request_duration_seconds"
TABLE = f'{PRIMARY},relname="messages"'
MESSAGES = {"relname": "messages"}


def bloat(ratio: float, wasted_bytes: float) -> list[dict]:
    return [
        gauge(f"pg_table_bloat_ratio{{{TABLE}}}", ratio),
        gauge(f"pg_table_bloat_wasted_bytes{{{TABLE}}}", wasted_bytes),
    ]


@dataclass
class Case:
    alert: str
    minutes: int  # the alert's `for:`
    over: list[dict]  # input just over the threshold
    under: list[dict]  # input just under it
    labels: dict[str, str] = field(default_factory=dict)  # labels the alert keeps
    under_guard: list[dict] = field(default_factory=list)  # over, but its guard is not met


CASES = [
    Case("QueryLatencyHigh", 5, histogram(DB, 'target="primary"', "1"),
         histogram(DB, 'target="primary"', "0.5"), {"target": "primary"}),  # p95 0.975 / 0.4875 s
    Case("QueryLatencyCritical", 2, histogram(DB, 'target="primary"', "2.5"),
         histogram(DB, 'target="primary"', "1"), {"target": "primary"}),
    Case("PgBouncerPoolSaturationHigh", 2, pool(17), pool(16)),
    Case("PgBouncerPoolSaturationCritical", 1, pool(19), pool(18)),
    Case("PgBouncerQueueWaitHigh", 3, queue(9_000_000 * 1.02), queue(9_000_000 * 0.8)),
    Case("PgBouncerDown", 1, [gauge("pgbouncer_up", 0)], [gauge("pgbouncer_up", 1)]),
    Case("CacheHitRatioLow", 10, cache(49, 51), cache(51, 49)),
    Case("RedisDown", 1, [gauge("redis_up", 0)], [gauge("redis_up", 1)]),
    Case("CacheInvalidationSlow", 5,
         histogram("chat_cache_invalidation_duration_seconds", "", "0.25"),
         histogram("chat_cache_invalidation_duration_seconds", "", "0.1")),
    Case("ReplicaLagHigh", 5, [gauge("pg_replica_lag_seconds", 10.5)],
         [gauge("pg_replica_lag_seconds", 9.5)]),
    Case("ReplicaLagCritical", 2, [gauge("pg_replica_lag_seconds", 31)],
         [gauge("pg_replica_lag_seconds", 29)]),
    Case("ReplicaByteLagHigh", 5,
         [gauge(f"pg_stat_replication_pg_wal_lsn_diff{{{PRIMARY}}}", 67_108_865)],
         [gauge(f"pg_stat_replication_pg_wal_lsn_diff{{{PRIMARY}}}", 67_108_864)]),
    Case("ReplicaBreakerOpen", 1, [gauge("chat_replica_breaker_state", 2)],
         [gauge("chat_replica_breaker_state", 1)]),
    Case("ReplicaDown", 1, [gauge('pg_up{job="postgres_replica"}', 0)],
         [gauge('pg_up{job="postgres_replica"}', 1)]),
    Case("TableBloatHigh", 60, bloat(0.21, 104_857_601), bloat(0.19, 104_857_601), MESSAGES,
         bloat(0.21, 104_857_600)),
    Case("TableBloatCritical", 30, bloat(0.31, 1_073_741_825), bloat(0.29, 1_073_741_825),
         MESSAGES, bloat(0.31, 1_073_741_824)),
    Case("VacuumStale", 10,
         [gauge(f"pg_stat_user_tables_last_vacuum_age_seconds{{{TABLE}}}", 86_500)],
         [gauge(f"pg_stat_user_tables_last_vacuum_age_seconds{{{TABLE}}}", 86_300)], MESSAGES),
    Case("DeadTuplesHigh", 15, [gauge(f"pg_stat_user_tables_n_dead_tup{{{TABLE}}}", 100_001)],
         [gauge(f"pg_stat_user_tables_n_dead_tup{{{TABLE}}}", 99_999)], MESSAGES),
    Case("PrimaryConnectionsHigh", 5, connections(81), connections(80)),
    Case("ErrorRateHigh", 5, requests(1485, 15.3), requests(1485, 14.7)),  # 1.02 % / 0.98 %
    Case("ErrorRateCritical", 2, requests(1420, 80), requests(1430, 70)),  # 5.3 % / 4.7 %
    Case("HistoryLatencySLOViolation", 5, histogram(REQ, 'endpoint="history"', "0.5"),
         histogram(REQ, 'endpoint="history"', "0.35")),  # p95 0.4925 s / 0.345 s
    Case("SendLatencySLOViolation", 5, histogram(REQ, 'endpoint="send"', "0.35"),
         histogram(REQ, 'endpoint="send"', "0.25")),  # p95 0.345 s / 0.2425 s
    Case("ThroughputSLOViolation", 5, requests(1490, 0), requests(1510, 0)),  # 99.3 / 100.7 /s
]  # fmt: skip


def alert_tests(case: Case) -> list[dict]:
    """Over: silent before `for:` elapses, firing after; under: silent."""
    before = f"{case.minutes * 60 - 30}s"
    after = f"{case.minutes + 2}m"

    def group(series: list[dict], checks: list[tuple[str, bool]]) -> dict:
        return {
            "interval": "15s",
            "input_series": series,
            "alert_rule_test": [
                {"eval_time": t, "alertname": case.alert, "exp_alerts": _expected(case, fires)}
                for t, fires in checks
            ],
        }

    return [
        group(case.over, [(before, False), (after, True)]),
        group(case.under, [(after, False)]),
        *([group(case.under_guard, [(after, False)])] if case.under_guard else []),
    ]


def _expected(case: Case, fires: bool) -> list[dict]:
    if not fires:
        return []
    rule = next(r for r in _alert_rules() if r["alert"] == case.alert)
    return [{"exp_labels": {**rule["labels"], **case.labels}}]


def _alert_rules() -> list[dict]:
    rules = yaml.safe_load(rule_files()["alerts.rules.yml"])
    return [r for g in rules["groups"] for r in g["rules"]]


# Recording rules: 10 requests per 15 s sample in the (0.25, 0.35] bucket for history,
# 1 % errors, 40 % cache hits, 75 % Redis hits.
RECORD_INPUT = [
    *histogram(REQ, 'endpoint="history"', "0.35"),
    *requests(1485, 15),
    *cache(40, 60),
    counter("redis_keyspace_hits_total", 30),
    counter("redis_keyspace_misses_total", 10),
]
RECORD_EXPECTATIONS = {
    "endpoint:chat_request_duration_seconds:p95_rate1m": [('endpoint="history"', 0.345)],
    "endpoint:chat_request_duration_seconds:p99_rate1m": [('endpoint="history"', 0.349)],
    "endpoint:chat_requests:error_ratio_rate1m": [('endpoint="history"', 0.01)],
    "service:chat_cache_requests:hit_ratio_rate1m": [("", 0.4)],
    "service:redis_keyspace:hit_ratio_rate1m": [("", 0.75)],
    # history p95 ok; send has no traffic (fails); error ratio 1 % is not < 1 %; 100 req/s ok
    "service:chat_slo:score_rate1m": [("", 0.5)],
}


def record_tests() -> list[dict]:
    tests = []
    for record, samples in RECORD_EXPECTATIONS.items():
        tests.append(
            {
                "expr": record,
                "eval_time": "10m",
                "exp_samples": [
                    {"labels": f"{record}{{{labels}}}", "value": value} for labels, value in samples
                ],
            }
        )
    return [{"interval": "15s", "input_series": RECORD_INPUT, "promql_expr_test": tests}]


def _without_annotations(text: str) -> str:
    """Annotations are checked above; promtool would need every expanded text."""
    rules = yaml.safe_load(text)
    for group in rules["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    return yaml.safe_dump(rules, sort_keys=False)


@pytest.fixture(scope="module")
def rules_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("rules")
    for name, text in rule_files().items():
        (directory / name).write_text(text)
    return directory


def promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=300)


def test_committed_rule_files_are_current() -> None:
    for name, text in rule_files().items():
        committed = RULES_DIR / name
        assert committed.read_text() == text, f"{committed} is stale: run `rollbook prom rules`"


def test_promtool_check_rules(rules_dir: Path) -> None:
    result = promtool("check", "rules", *sorted(str(p) for p in rules_dir.glob("*.rules.yml")))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_case() -> None:
    defined = {a.name for alerts in ALERTS.values() for a in alerts}
    assert defined == {c.alert for c in CASES}


def test_every_alert_has_runbook_summary_description() -> None:
    for rule in _alert_rules():
        notes = rule["annotations"]
        assert notes["runbook_url"].startswith("notebooks/") and notes["summary"]
        assert "{{ $value" in notes["description"]


@pytest.mark.parametrize("kind", ["alerts", "records"])
def test_promtool_test_rules(rules_dir: Path, kind: str) -> None:
    if kind == "alerts":
        groups = [g for case in CASES for g in alert_tests(case)]
        files = ["alerts.bare.yml"]
        bare = _without_annotations(rule_files()["alerts.rules.yml"])
        (rules_dir / files[0]).write_text(bare)
    else:
        groups, files = record_tests(), ["records.rules.yml"]
    suite = {
        "rule_files": [str(rules_dir / f) for f in files],
        "evaluation_interval": "15s",
        "tests": groups,
    }
    path = rules_dir / f"{kind}.test.yml"
    path.write_text(yaml.safe_dump(suite, sort_keys=False))
    result = promtool("test", "rules", str(path))
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
