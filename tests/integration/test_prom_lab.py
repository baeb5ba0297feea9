"""The metric catalog, the dashboard and the alert rules against the lab's live Prometheus.

Every concept and every dashboard query must return data while the workload runs with
every rollout path on (cache, replica, PgBouncer); the breaker alert must fire within its
`for:` plus two evaluation intervals once the replica stops replaying.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest
import requests
import yaml
from test_lab import eventually, flags  # noqa: F401  (flags: fixture)

from rollbook.db import session
from rollbook.duration import parse_duration
from rollbook.flags import FlagStore
from rollbook.prom.catalog import concepts
from rollbook.prom.client import PromClient
from rollbook.prom.dashboard import GRAFANA_RANGE, panels
from rollbook.prom.rules import find_alert
from rollbook.runbooks.slo_dashboard import SloDashboard

REPO = Path(__file__).resolve().parents[2]
# Every read path on, and sends through PgBouncer, so every concept has traffic behind it.
ROUTE_FLAGS = ("cache.history", "replica.history", "pgbouncer.history", "pgbouncer.send")
DATA_TIMEOUT = 90


@pytest.fixture(scope="module")
def prom(lab_params) -> PromClient:
    """The lab's Prometheus, reloaded so it evaluates the committed rule files."""
    client = PromClient.from_params(lab_params)
    requests.post(f"{client.url}/-/reload", timeout=30).raise_for_status()
    return client


@pytest.fixture(scope="module")
def every_path_on(lab_params):
    """Route flags at 100 % and a fresh VACUUM ANALYZE; the flags get their values back."""
    with session(lab_params.primary, lab_params.safety, purpose="test_prom_lab") as conn:
        store = FlagStore(conn)
        before = store.stored()
        for name in ROUTE_FLAGS:
            store.set(name, 100, run_id="test_prom_lab")
        conn.execute("VACUUM ANALYZE conversations")  # bloat needs statistics, age a vacuum
        yield
        for name in ROUTE_FLAGS:
            if name in before:
                store.set(name, before[name][0], run_id="test_prom_lab")
            else:
                conn.execute("DELETE FROM rollbook.flags WHERE name = %s", [name])


def finite_values(prom: PromClient, query: str) -> list[float]:
    return [v for v in prom.instant(query)["value"] if not math.isnan(v)]


def without_data(prom: PromClient, queries: dict[str, str]) -> list[str]:
    return [name for name, query in queries.items() if not finite_values(prom, query)]


def wait_for_data(prom: PromClient, queries: dict[str, str]) -> list[str]:
    """Names whose query still has no finite value after DATA_TIMEOUT seconds."""
    deadline = time.monotonic() + DATA_TIMEOUT
    missing = without_data(prom, queries)
    while missing and time.monotonic() < deadline:
        time.sleep(2)
        missing = without_data(prom, {name: queries[name] for name in missing})
    return missing


def test_every_catalog_concept_returns_data(prom, every_path_on):
    queries = {name: c.query("1m") for name, c in concepts().items()}
    assert len(queries) == 48
    assert wait_for_data(prom, queries) == []


def test_vacuum_and_bloat_concepts_follow_the_tables(prom, every_path_on):
    ages = concepts()["last_autovacuum_age_seconds"].query()
    eventually(
        lambda: any(v < 120 for v in finite_values(prom, ages)),
        DATA_TIMEOUT,
        "a vacuum age under 2 minutes",
    )
    vacuumed = prom.instant(ages).set_index("relname")["value"]
    assert vacuumed["conversations"] < 120
    bloat = prom.instant(concepts()["table_bloat_ratio"].query()).set_index("relname")["value"]
    assert {"messages", "conversations"} <= set(bloat.index)
    assert ((bloat >= 0) & (bloat <= 1)).all()


def test_every_dashboard_query_returns_data(prom, every_path_on):
    queries = {
        f"{panel.title}: {legend}": promql.replace(GRAFANA_RANGE, "1m")
        for panel in panels()
        for legend, promql in panel.queries()
    }
    assert wait_for_data(prom, queries) == []


def empty_panels(board: SloDashboard) -> list[str]:
    """Panels (and their charts) that show nothing but gaps."""
    empty = []
    for panel in panels():
        view = board.panel(panel.title)
        if view.table is not None:
            if view.table.drop(columns=view.table.columns[0]).isna().all().all():
                empty.append(panel.title)
            continue
        for figure in view.figures:
            if not any(any(not math.isnan(y) for y in trace.y) for trace in figure.data):
                empty.append(f"{panel.title}: {figure.layout.title.text}")
    return empty


def test_slo_dashboard_draws_every_panel_with_data(lab_params, every_path_on):
    # a new route's first rates may fall between two chart steps (15 s): give it a few steps
    deadline = time.monotonic() + DATA_TIMEOUT
    empty = empty_panels(SloDashboard(lab_params, "last 5m"))
    while empty and time.monotonic() < deadline:
        time.sleep(5)
        empty = empty_panels(SloDashboard(lab_params, "last 5m"))
    assert empty == []


def evaluation_interval(prom: PromClient) -> float:
    config = requests.get(f"{prom.url}/api/v1/status/config", timeout=5).json()["data"]["yaml"]
    return parse_duration(yaml.safe_load(config)["global"]["evaluation_interval"]).total_seconds()


def alert_state(prom: PromClient, name: str) -> dict | None:
    alerts = requests.get(f"{prom.url}/api/v1/alerts", timeout=5).json()["data"]["alerts"]
    return next((a for a in alerts if a["labels"]["alertname"] == name), None)


def test_breaker_alert_fires_within_for_plus_two_evaluations(lab, prom, flags):  # noqa: F811
    alert = find_alert("ReplicaBreakerOpen")
    budget = parse_duration(alert.for_).total_seconds() + 2 * evaluation_interval(prom)
    assert alert_state(prom, alert.name) is None
    flags("replica.history", 100)
    flags("replica.max_lag_seconds", 1)
    breaker = concepts()["replica_breaker_state"].query()
    with lab.replica.connect() as admin:
        admin.execute("SELECT pg_wal_replay_pause()")
        try:
            eventually(lambda: finite_values(prom, breaker) == [2], 30, "Prometheus to see it open")
            opened = time.monotonic()
            eventually(
                lambda: (alert_state(prom, alert.name) or {}).get("state") == "firing",
                budget + 10,
                f"{alert.name} to fire",
            )
            fired_after = time.monotonic() - opened
            firing = alert_state(prom, alert.name)
        finally:
            admin.execute("SELECT pg_wal_replay_resume()")
    assert fired_after <= budget + 0.5  # polling every 0.2 s, plus the query itself
    assert firing["labels"]["severity"] == "critical"
    assert (REPO / firing["annotations"]["runbook_url"]).is_file()
    eventually(lambda: finite_values(prom, breaker) == [0], 60, "the breaker to close")
