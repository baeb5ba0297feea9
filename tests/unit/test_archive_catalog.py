"""The run catalog and reading runs back, from run folders written here."""

from datetime import UTC, datetime, timedelta

import pytest

from rollbook.archive import RunNotFound, list_runs, load_run, rebuild
from rollbook.archive.catalog import parse_since, record
from rollbook.archive.layout import RunPaths, new_run_id
from rollbook.archive.results import write_json

NOW = datetime.now(UTC)


def archive_run(output_dir, runbook, outcome, started_at, checks=()):
    paths = RunPaths(output_dir / new_run_id(runbook, "lab", started_at))
    ended_at = started_at + timedelta(minutes=2)
    write_json(
        paths.manifest,
        {
            "run_id": paths.run_id,
            "runbook": runbook,
            "environment": "lab",
            "mode": "dry-run",
            "outcome": outcome,
            "exit_code": 0 if outcome == "passed" else 1,
            "started_at": started_at.isoformat(),
            "ended_at": ended_at.isoformat(),
            "duration_seconds": 120.0,
            "reason": "",
        },
    )
    step = {"name": "build", "status": "ok", "started_at": started_at.isoformat()}
    step.update(ended_at=ended_at.isoformat(), seconds=120.0)
    write_json(
        paths.results,
        {
            "checks": list(checks),
            "failing": [c["name"] for c in checks if c["status"] != "pass"],
            "steps": [step],
        },
    )
    record(output_dir, paths.dir)
    return paths


@pytest.fixture
def archive(tmp_path):
    fail = {"name": "p95", "status": "fail", "observed": 0.5, "threshold": "< 0.3", "unit": "s"}
    runs = {
        "old": archive_run(tmp_path, "00_preflight", "passed", NOW - timedelta(days=5)),
        "failed": archive_run(tmp_path, "01_indexes", "failed", NOW - timedelta(hours=3), [fail]),
        "new": archive_run(tmp_path, "00_preflight", "passed", NOW - timedelta(minutes=5)),
    }
    return tmp_path, runs


def test_run_ids_sort_by_start_time():
    early, late = NOW - timedelta(hours=1), NOW
    assert new_run_id("b_step", "lab", early) < new_run_id("a_step", "lab", late)
    assert new_run_id("00_preflight", "lab", NOW).split("-")[0] == NOW.strftime("%Y%m%dT%H%M%SZ")


def test_list_runs_filters_and_sorts_newest_first(archive):
    output_dir, runs = archive
    frame = list_runs(output_dir)
    assert list(frame.run_id) == [runs[k].run_id for k in ("new", "failed", "old")]
    assert str(frame.started_at.dt.tz) == "UTC"
    assert list(list_runs(output_dir, since="2d").run_id) == [
        runs["new"].run_id,
        runs["failed"].run_id,
    ]
    assert list(list_runs(output_dir, outcome="failed").failing) == [1]
    assert len(list_runs(output_dir, runbook="00_preflight", since=timedelta(hours=1))) == 1


def test_rebuild_recreates_the_catalog_from_manifests(archive):
    output_dir, _ = archive
    (output_dir / "catalog.sqlite").unlink()
    assert rebuild(output_dir) == 3
    assert len(list_runs(output_dir)) == 3


def test_load_run_by_short_id_gives_checks_and_step_windows(archive):
    output_dir, runs = archive
    run = load_run(runs["failed"].run_id[-6:], output_dir)
    assert run.run_id == runs["failed"].run_id
    assert list(run.checks.status) == ["fail"]
    window = run.steps.iloc[0]
    assert window.ended_at - window.started_at == timedelta(minutes=2)
    assert run.started_at == window.started_at


def test_load_run_unknown_or_ambiguous(archive):
    output_dir, _ = archive
    with pytest.raises(RunNotFound, match="no run"):
        load_run("nothing-like-this", output_dir)
    with pytest.raises(RunNotFound, match="3 runs"):
        load_run("2", output_dir)


def test_parse_since_accepts_durations_and_dates():
    assert abs(parse_since("2d") - (datetime.now(UTC) - timedelta(days=2))) < timedelta(seconds=5)
    assert parse_since("2026-01-02") == datetime(2026, 1, 2, tzinfo=UTC)
    with pytest.raises(ValueError, match="duration like 30m"):
        parse_since("yesterday")
