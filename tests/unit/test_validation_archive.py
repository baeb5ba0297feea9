"""Reading the archive for the validation: newest preflight baseline and Phase 1 plans of
an environment, plan shape checks; keyset walk findings; the `validation:` params."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from rollbook.archive import rebuild
from rollbook.archive.archived_plans import latest_plans, plan_documents, shape_checks
from rollbook.archive.baselines import latest_baseline
from rollbook.explain.analysis import analyse
from rollbook.explain.parse import parse_plan
from rollbook.params.validation import ValidationParams
from rollbook.runbooks.correctness import Walk

PLANS = Path(__file__).resolve().parents[1] / "fixtures" / "plans"


def plan(fixture: str, name: str = "history_next_page"):
    return analyse(parse_plan(PLANS / f"{fixture}.json", name=name))


def archive_run(out: Path, run_id: str, runbook: str, environment: str, outcome: str, data):
    folder = out / run_id
    folder.mkdir(parents=True)
    manifest = {
        "run_id": run_id,
        "runbook": runbook,
        "environment": environment,
        "mode": "apply",
        "outcome": outcome,
        "exit_code": 0,
        "started_at": f"2026-11-{run_id[:2]}T10:00:00+00:00",
        "ended_at": f"2026-11-{run_id[:2]}T10:05:00+00:00",
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (folder / "results.json").write_text(json.dumps({"checks": [], "data": data}))


def test_baseline_is_the_newest_passed_preflight_of_the_environment(tmp_path):
    archive_run(tmp_path, "10-pre", "00_preflight", "lab", "passed", {"baseline": {"a": 1.0}})
    archive_run(tmp_path, "11-pre", "00_preflight", "lab", "passed", {"baseline": {"a": 2.0}})
    archive_run(tmp_path, "12-pre", "00_preflight", "lab", "failed", {"baseline": {"a": 3.0}})
    archive_run(tmp_path, "13-pre", "00_preflight", "prod", "passed", {"baseline": {"a": 4.0}})
    rebuild(tmp_path)
    assert latest_baseline("lab", tmp_path) == ("11-pre", {"a": 2.0})
    assert latest_baseline("staging", tmp_path) == (None, {})


def test_no_phase1_run_or_no_plans_is_no_data_and_not_required(tmp_path):
    assert "no 01_phase1_indexes run of lab" in latest_plans("lab", tmp_path).reason
    archive_run(tmp_path, "10-p1", "01_phase1_indexes", "lab", "passed", {"apply": []})
    rebuild(tmp_path)
    archived = latest_plans("lab", tmp_path)
    assert "none with data.after_plans" in archived.reason
    _, checks = shape_checks(archived, {"history_next_page": plan("clean")}, "primary")
    assert [(c.status.value, c.required) for c in checks] == [("no data", False)]


def test_a_changed_plan_shape_fails_with_the_nodes_that_changed(tmp_path):
    documents = plan_documents({"primary": {"history_next_page": plan("history_next_page")}})
    archive_run(tmp_path, "10-p1", "01_phase1_indexes", "lab", "passed", {"after_plans": documents})
    rebuild(tmp_path)
    archived = latest_plans("lab", tmp_path)
    assert archived.run_id == "10-p1"
    _, same = shape_checks(archived, {"history_next_page": plan("history_next_page")}, "primary")
    assert [c.status.value for c in same] == ["pass"]
    diffs, changed = shape_checks(
        archived, {"history_next_page": plan("parallel_seq_scan")}, "primary"
    )
    assert [c.status.value for c in changed] == ["fail"] and changed[0].required
    assert "Seq Scan" in changed[0].detail and diffs["history_next_page"].shape_changed


def test_walk_findings_name_duplicates_gaps_and_order():
    exact = Walk(1, [5, 4, 3, 2, 1], [5, 4, 3, 2, 1], pages=3).findings()
    assert (exact["duplicates"], exact["missing"], exact["first position out of order"]) == (
        0,
        0,
        None,
    )
    broken = Walk(1, [5, 4, 4, 2, 1], [5, 4, 3, 2, 1], pages=3).findings()
    assert (broken["duplicates"], broken["missing"], broken["first position out of order"]) == (
        1,
        1,
        2,
    )
    swapped = Walk(1, [5, 3, 4], [5, 4, 3], pages=1).findings()
    assert swapped["missing"] == 0 and swapped["first position out of order"] == 1
    short = Walk(1, [5, 4], [5, 4, 3], pages=2).findings()
    assert short["missing"] == 1 and short["first position out of order"] == 2


def test_validation_params_parse_slos_and_reject_unknown_concepts():
    params = ValidationParams(slo=["cache_hit_ratio > 70%", "history_latency_p95_seconds <= 315ms"])
    assert [(s.concept, s.threshold) for s in params.slo] == [
        ("cache_hit_ratio", 0.7),
        ("history_latency_p95_seconds", 0.315),
    ]
    with pytest.raises(ValidationError, match="no such metric concept: nope"):
        ValidationParams(primary_load_concept="nope")
    with pytest.raises(ValidationError, match="windw"):
        ValidationParams(windw="1h")


def test_phase4_primary_load_compares_with_its_own_environments_preflight(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from rollbook.runbooks import replica_routing

    load = {replica_routing.LOAD_CONCEPT: 100.0}
    archive_run(tmp_path, "10-pre", "00_preflight", "lab", "passed", {"baseline": load})
    other = {replica_routing.LOAD_CONCEPT: 1000.0}
    archive_run(tmp_path, "11-pre", "00_preflight", "prod", "passed", {"baseline": other})
    rebuild(tmp_path)
    monkeypatch.setattr(replica_routing.PromClient, "from_params", lambda params: None)
    monkeypatch.setattr(replica_routing, "summarise", lambda client, measure, window: 50.0)
    params = SimpleNamespace(environment="lab", safety=SimpleNamespace(apply=True))
    table, check = replica_routing.primary_load(params, None, output_dir=tmp_path)
    assert table.loc[0, "preflight run"] == "10-pre"
    assert check.observed == 0.5
