"""Checks that can fail for the reason in their name (issue 12): replica lag unknown is no
data, every project alert rule must be loaded, PgBouncer's prepared statements are judged
on the application's side, and only entries actually compared count as sampled."""

from __future__ import annotations

from contextlib import nullcontext
from types import SimpleNamespace

import pytest

from rollbook.cache.reader import Entry
from rollbook.params import Params
from rollbook.postgres import replication
from rollbook.prom.rules import all_alerts
from rollbook.runbooks import correctness, pgbouncer, preflight
from rollbook.verdict import Status

ENDPOINT = {"dbname": "chat", "user": "app"}


def params(**sections) -> Params:
    return Params(environment="unit", primary=ENDPOINT, **sections)


class Answers:
    """A connection whose queries answer by a substring of their SQL."""

    def __init__(self, answers: dict[str, list[tuple]]) -> None:
        self.answers = answers

    def execute(self, query: str, *args):
        rows = next(rows for key, rows in self.answers.items() if key in query)
        return SimpleNamespace(fetchall=lambda: rows, fetchone=lambda: rows[0])


def fake_sessions(monkeypatch, module, answers: dict[str, list[tuple]]) -> None:
    monkeypatch.setattr(module, "session", lambda *a, **k: nullcontext(Answers(answers)))


def streaming_replica(lag) -> dict[str, list[tuple]]:
    return {
        "pg_stat_replication": [("replica", "127.0.0.1", "streaming", "async", 4096)],
        "pg_last_xact_replay_timestamp": [(lag,)],
    }


def test_replica_lag_unknown_is_no_data(monkeypatch):
    """Replay timestamp NULL while received WAL is not replayed: the lag is unknown."""
    fake_sessions(monkeypatch, replication, streaming_replica(None))
    section = preflight.replication(params(replica=ENDPOINT), max_lag_seconds=5)
    lag = {c.name: c for c in section.checks}["replica lag"]
    assert lag.status is Status.NO_DATA and lag.blocks


@pytest.mark.parametrize(("lag", "status"), [(0.0, Status.PASS), (9.5, Status.FAIL)])
def test_replica_lag_measured_is_judged(monkeypatch, lag, status):
    fake_sessions(monkeypatch, replication, streaming_replica(lag))
    section = preflight.replication(params(replica=ENDPOINT), max_lag_seconds=5)
    assert {c.name: c for c in section.checks}["replica lag"].status is status


def prometheus(monkeypatch, loaded: list[str]) -> None:
    answers = {
        "/api/v1/targets": {
            "activeTargets": [{"labels": {"job": "redis", "instance": "x"}, "health": "up"}]
        },
        "/api/v1/rules?type=alert": {
            "groups": [{"name": "g", "rules": [{"name": name} for name in loaded]}]
        },
    }
    monkeypatch.setattr(preflight, "_prometheus_get", lambda p, path: answers[path])


def test_one_loaded_alert_rule_is_not_enough(monkeypatch):
    prometheus(monkeypatch, ["RedisDown"])
    rules = {c.name: c for c in preflight.monitoring(params()).checks}["alert rules loaded"]
    assert rules.status is Status.FAIL
    assert "ReplicaLagHigh" in rules.detail and "RedisDown" not in rules.detail


def test_every_project_alert_rule_loaded_passes(monkeypatch):
    prometheus(monkeypatch, [a.name for a in all_alerts()])
    rules = {c.name: c for c in preflight.monitoring(params()).checks}["alert rules loaded"]
    assert rules.status is Status.PASS
    assert rules.observed == len(all_alerts())


def test_expected_alerts_can_be_given(monkeypatch):
    prometheus(monkeypatch, ["RedisDown"])
    section = preflight.monitoring(params(), expected_alerts={"RedisDown", "Mine"})
    rules = {c.name: c for c in section.checks}["alert rules loaded"]
    assert rules.status is Status.FAIL and "Mine" in rules.detail


@pytest.mark.parametrize(
    ("version", "pool_mode", "max_prepared", "app_prepares", "status"),
    [
        # PgBouncer 1.18 (no tracking) in transaction mode: the application decides.
        ("PgBouncer 1.18.0", "transaction", None, True, Status.FAIL),
        ("PgBouncer 1.18.0", "transaction", None, False, Status.PASS),
        ("PgBouncer 1.18.0", "transaction", None, None, Status.NO_DATA),
        ("PgBouncer 1.18.0", "statement", None, True, Status.FAIL),
        # A session keeps its server connection: prepared statements are fine.
        ("PgBouncer 1.18.0", "session", None, True, Status.PASS),
        # From 1.21 PgBouncer tracks protocol-level prepared statements when enabled.
        ("PgBouncer 1.21.0", "transaction", "200", True, Status.PASS),
        ("PgBouncer 1.21.0", "transaction", "0", True, Status.FAIL),
        ("PgBouncer 1.22.1", "transaction", "0", False, Status.PASS),
    ],
)
def test_prepared_statement_decision(version, pool_mode, max_prepared, app_prepares, status):
    check = pgbouncer.prepared_statement_check(version, pool_mode, max_prepared, app_prepares)
    assert check.status is status
    assert version in check.detail and pool_mode in check.detail


def test_prepared_statements_read_the_declaration(monkeypatch):
    config = {"pool_mode": "transaction", "max_client_conn": "500"}
    console = pgbouncer.Console(config, "PgBouncer 1.18.0", "transaction")
    monkeypatch.setattr(pgbouncer, "_console", lambda p: console)
    bouncer = {"dbname": "chat", "admin_user": "admin"}
    for declared, status in ((True, Status.FAIL), (False, Status.PASS)):
        section = pgbouncer.prepared_statements(
            params(pgbouncer={**bouncer, "app_prepares_statements": declared})
        )
        assert [c.status for c in section.checks] == [status]


class Vanishing:
    """The service's cache as a reader sees it: every entry gone by the time it is read."""

    def entries(self, limit):
        return [
            Entry("conversation_list", {"user_id": u}, f"chat:conversations:{u}") for u in range(3)
        ]

    def rows(self, entry):
        return None


def test_entries_that_vanish_are_not_counted_as_compared(monkeypatch):
    monkeypatch.setattr(correctness, "cache_reader", lambda p: Vanishing())
    fake_sessions(monkeypatch, correctness, {})
    (check,) = correctness.cache_entries(params(), sample_size=3).checks
    assert check.status is Status.NO_DATA
    assert "0 compared" in check.detail and "3 vanished" in check.detail
