"""The lab against its acceptance: replication, PgBouncer, Redis, flags, metrics, breaker."""

from __future__ import annotations

import time

import psycopg
import pytest
import redis
import requests
from _wait import eventually, steady
from prometheus_client.parser import text_string_to_metric_families

from rollbook.db import pgbouncer_console, session
from rollbook.flags import FlagStore

WORKLOAD_METRICS = (
    "chat_request_duration_seconds",
    "chat_requests_total",
    "chat_cache_requests_total",
    "chat_cache_invalidations_total",
    "chat_cache_invalidation_duration_seconds",
    "chat_db_query_duration_seconds",
    "chat_replica_breaker_state",
    "chat_replica_lag_seconds",
    "chat_sends_acknowledged_total",
)


@pytest.fixture
def flags(lab, lab_params):
    """Set flags for one test; every flag it touched gets its previous value back."""
    with session(lab_params.primary, lab_params.safety, purpose="test") as conn:
        store = FlagStore(conn)
        before: dict[str, float | None] = {}

        def set_flag(name: str, value: float) -> None:
            before.setdefault(name, store.stored().get(name, (None,))[0])
            store.set(name, value, run_id="test")

        yield set_flag
        for name, value in before.items():
            if value is None:
                conn.execute("DELETE FROM rollbook.flags WHERE name = %s", [name])
            else:
                store.set(name, value, run_id="test")


def workload_samples(lab) -> dict[tuple[str, tuple], float]:
    """The workload's /metrics as {(sample name, sorted labels): value}."""
    text = requests.get(f"http://127.0.0.1:{lab.layout.ports['workload']}/metrics", timeout=5).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def metric_sum(lab, metric: str, **labels: str) -> float:
    return sum(
        value
        for (sample, sample_labels), value in workload_samples(lab).items()
        if sample == metric and all(dict(sample_labels).get(k) == v for k, v in labels.items())
    )


def flag_in_effect(lab, name: str, value: float, timeout: float = 10) -> None:
    """Wait until the workload uses `value` for flag `name` (it exports the values it uses)."""
    eventually(
        lambda: metric_sum(lab, "chat_flag_value", name=name) == value,
        timeout,
        f"the workload to use {name} = {value:g}",
    )


def test_row_inserted_on_primary_is_readable_on_replica(lab_params):
    marker = f"replication probe {time.time_ns()}"
    with session(lab_params.primary, lab_params.safety, purpose="test") as conn:
        conn.execute(
            "INSERT INTO messages (conversation_id, sender_id, body) VALUES (1, 1, %s)", [marker]
        )
    with session(lab_params.replica, lab_params.safety, purpose="test") as replica:

        def visible() -> bool:
            row = replica.execute("SELECT count(*) FROM messages WHERE body = %s", [marker])
            return row.fetchone()[0] == 1

        eventually(visible, 10, "the row on the replica")


def test_pgbouncer_carries_workload_when_flag_is_100(lab, lab_params, flags):
    for endpoint in ("history", "send", "conversations"):
        flags(f"pgbouncer.{endpoint}", 100)

    def pooled() -> bool:
        with pgbouncer_console(lab_params.pgbouncer) as console:
            cur = console.execute("SHOW POOLS")
            columns = [c.name for c in cur.description]
            pools = [dict(zip(columns, row, strict=True)) for row in cur.fetchall()]
        chat = [p for p in pools if p["database"] == "chat" and p["user"] == "chat"]
        return bool(chat) and chat[0]["cl_active"] + chat[0]["cl_waiting"] > 0

    eventually(pooled, 10, "workload clients in SHOW POOLS")
    routed = metric_sum(lab, "chat_db_query_duration_seconds_count", via="pgbouncer")
    eventually(
        lambda: metric_sum(lab, "chat_db_query_duration_seconds_count", via="pgbouncer") > routed,
        10,
        "queries through PgBouncer",
    )


def test_redis_hits_rise_when_cache_flag_is_100(lab, flags):
    client = redis.Redis(port=lab.layout.ports["redis"])
    hits = client.info("stats")["keyspace_hits"]
    flags("cache.history", 100)
    flags("cache.conversations", 100)
    eventually(lambda: client.info("stats")["keyspace_hits"] > hits + 20, 20, "Redis hits to rise")


def test_flag_change_reaches_workload_metrics_within_2s(lab, flags):
    value = 37.0 if metric_sum(lab, "chat_flag_value", name="cache.history") != 37.0 else 38.0
    flags("cache.history", value)
    changed_at = time.monotonic()
    eventually(
        lambda: metric_sum(lab, "chat_flag_value", name="cache.history") == value,
        5,
        "the flag in the workload's metrics",
    )
    assert time.monotonic() - changed_at <= 2.0


def test_every_target_up_and_every_workload_metric_has_samples(lab):
    prom = f"http://127.0.0.1:{lab.layout.ports['prometheus']}/api/v1"

    def all_up() -> bool:
        targets = requests.get(f"{prom}/targets", timeout=5).json()["data"]["activeTargets"]
        return len(targets) >= 6 and all(t["health"] == "up" for t in targets)

    eventually(all_up, 30, "every Prometheus target up")

    def has_samples(metric: str) -> bool:
        query = f'count({{__name__=~"{metric}(_bucket|_count|_total)?"}})'
        result = requests.get(f"{prom}/query", params={"query": query}, timeout=5).json()
        return bool(result["data"]["result"]) and float(result["data"]["result"][0]["value"][1]) > 0

    for metric in WORKLOAD_METRICS:
        eventually(lambda m=metric: has_samples(m), 20, f"samples of {metric}")


def history_reads(lab, route: str) -> float:
    return metric_sum(lab, "chat_request_duration_seconds_count", endpoint="history", route=route)


def test_breaker_opens_when_replay_paused_and_reads_fall_back(lab, flags):
    flags("replica.max_lag_seconds", 1)
    flags("replica.history", 100)
    eventually(
        lambda: (
            metric_sum(
                lab, "chat_request_duration_seconds_count", endpoint="history", route="replica"
            )
            > 0
        ),
        15,
        "history reads on the replica",
    )
    with lab.replica.connect() as admin:
        admin.execute("SELECT pg_wal_replay_pause()")
        try:
            eventually(
                lambda: metric_sum(lab, "chat_replica_breaker_state") == 2,
                20,
                "the breaker to open",
            )
            # the replica reads in flight when it opened have finished
            steady(lambda: history_reads(lab, "replica"), 1, 20, "history reads on the replica")
            before = {r: history_reads(lab, r) for r in ("primary", "replica")}
            time.sleep(4)  # the window the reads are counted over
            primary = history_reads(lab, "primary") - before["primary"]
            replica = history_reads(lab, "replica") - before["replica"]
            # half-open probes may touch the replica; the reads themselves go to the primary
            assert primary > 10
            assert replica <= 0.1 * primary
        finally:
            admin.execute("SELECT pg_wal_replay_resume()")
    eventually(
        lambda: metric_sum(lab, "chat_replica_breaker_state") == 0, 30, "the breaker to close"
    )


def test_app_role_authenticates_with_password_only(lab):
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(
            host="127.0.0.1",
            port=lab.layout.ports["primary"],
            dbname="chat",
            user="chat",
            password="wrong",
            connect_timeout=5,
        ).close()
    assert oct(lab.layout.secret_file("app").stat().st_mode & 0o777) == "0o600"
