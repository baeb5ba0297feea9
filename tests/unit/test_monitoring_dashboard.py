"""The Grafana dashboard is generated from the catalog and committed up to date."""

from __future__ import annotations

import json
from pathlib import Path

from rollbook.prom.catalog import concepts
from rollbook.prom.dashboard import dashboard, panels, render

COMMITTED = Path(__file__).resolve().parents[2] / "monitoring" / "grafana" / "rollbook.json"


def test_committed_dashboard_is_current() -> None:
    assert COMMITTED.read_text() == render(), (
        "stale: run `rollbook prom dashboard > monitoring/grafana/rollbook.json`"
    )


def test_seventeen_panels_with_catalog_queries_and_thresholds() -> None:
    board = dashboard()
    assert len(board["panels"]) == len(panels()) == 17
    catalog_queries = {c.query("$__rate_interval") for c in concepts().values()}
    for panel, spec in zip(board["panels"], panels(), strict=True):
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert "$range" not in target["expr"]
        for name in spec.concepts:
            query = concepts()[name].query("$__rate_interval")
            assert query in catalog_queries
            assert any(query in t["expr"] for t in panel["targets"])
    latency = board["panels"][0]["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert [s["value"] for s in latency[1:]] == [0.25, 0.35]  # the send and history SLOs
    assert len({p["id"] for p in board["panels"]}) == 17
    json.dumps(board)
