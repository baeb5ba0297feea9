"""Phases 2-4 without services: ramp bookkeeping, PgBouncer version parsing, the cache's
serialisation round trip, staleness checks, and the rollout stopping at the first failure."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from rollbook import rollout as rollout_module
from rollbook.cache.contract import same_rows
from rollbook.canary import Outcome, RampResult
from rollbook.canary.rollout_ramps import Ramps
from rollbook.runbooks import cache, pgbouncer, replica_routing
from rollbook.verdict import Status


def result(flag: str, outcome: Outcome, value: float = 100.0) -> RampResult:
    r = RampResult(flag, f"run-{flag}", [50.0, 100.0], 0.0, 0.0, outcome=outcome)
    r.step_value = value
    return r


def test_a_flag_never_ramped_fails_the_phase():
    ramps = Ramps(pgbouncer.FLAGS)
    ramps.results = [result(pgbouncer.FLAGS[0], Outcome.PROMOTED),
                     result(pgbouncer.FLAGS[1], Outcome.ROLLED_BACK, 0.0)]  # fmt: skip
    checks = {c.name: c for c in ramps.checks()}
    assert checks[f"ramp {pgbouncer.FLAGS[0]} promoted to 100 %"].status is Status.PASS
    assert checks[f"ramp {pgbouncer.FLAGS[1]} promoted to 100 %"].status is Status.FAIL
    assert checks[f"ramp {pgbouncer.FLAGS[2]}"].status is Status.FAIL
    assert not ramps.promoted
    assert list(ramps.table()["outcome"]) == ["promoted", "rolled back", "not ramped"]


def test_every_flag_promoted_passes():
    ramps = Ramps(cache.FLAGS)
    ramps.results = [result(f, Outcome.PROMOTED) for f in cache.FLAGS]
    assert ramps.promoted and not ramps.dry_run
    assert all(c.status is Status.PASS for c in ramps.checks())
    assert [r["outcome"] for r in ramps.record()["ramps"]] == ["promoted", "promoted"]
    summary = ramps.summary()  # what the phase notebooks show and record in one call
    assert [(c.name, c.status) for c in summary.checks] == [
        (c.name, c.status) for c in ramps.checks()
    ]
    assert summary.data["ramps"]["ramps"] == ramps.record()["ramps"]
    assert list(summary.table["outcome"]) == ["promoted", "promoted"]


def test_dry_run_window_is_long_enough_to_query():
    now = datetime.now(UTC)
    ramps = Ramps(cache.FLAGS, started_at=now, finished_at=now + timedelta(milliseconds=5))
    assert ramps.window.duration >= timedelta(seconds=30)
    assert ramps.settled(10).duration == timedelta(seconds=10)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("PgBouncer 1.18.0", (1, 18, 0)), ("PgBouncer 1.21.0", (1, 21, 0)), ("1.9", (1, 9))],
)
def test_pgbouncer_version(text, expected):
    assert pgbouncer.version_tuple(text) == expected
    assert (expected >= pgbouncer.PREPARED_STATEMENTS_SINCE) == (expected[1] >= 21)


def test_cached_page_compares_equal_to_the_database_rows():
    """A page as the service stores it (JSON, ISO timestamps) against the rows it came from."""
    at = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    rows = [(2, 7, "hello", at), (1, 8, "hi", at - timedelta(seconds=1))]
    stored = json.dumps([[*r[:-1], r[-1].isoformat()] for r in rows])
    assert same_rows(json.loads(stored), rows)
    changed = [(2, 7, "edited", at), rows[1]]
    assert not same_rows(json.loads(stored), changed)


def test_a_read_never_seen_is_no_data_not_a_pass():
    table = pd.DataFrame({"sample": [1, 2], "seconds": [0.01, None]})
    check = replica_routing._staleness_check(table, 5.0, "2 probe writes", True)
    assert check.status is Status.NO_DATA and check.blocks
    fresh = replica_routing._staleness_check(table.dropna(), 5.0, "1 probe write", True)
    assert fresh.status is Status.PASS
    late = pd.DataFrame({"sample": [1], "seconds": [6.0]})
    assert replica_routing._staleness_check(late, 5.0, "x", True).status is Status.FAIL


def test_rollout_stops_at_the_first_failure(monkeypatch, tmp_path):
    ran = []
    exit_codes = {"02_phase2_pgbouncer.ipynb": 1}

    def prepare(notebook, params_file, overrides, apply, output_dir):
        return SimpleNamespace(name=Path(notebook).name, apply=apply)

    def run(request, watch=None):
        ran.append(request.name)
        return SimpleNamespace(exit_code=exit_codes.get(request.name, 0))

    monkeypatch.setattr(rollout_module, "prepare", prepare)
    monkeypatch.setattr(rollout_module, "run", run)
    reports = rollout_module.rollout(Path("p.yaml"), apply=True, output_dir=tmp_path)
    assert ran == list(rollout_module.ROLLOUT_RUNBOOKS[:3])
    assert [r.exit_code for r in reports] == [0, 0, 1]


@pytest.mark.parametrize(
    ("present", "sent_at", "now", "outcome"),
    [
        (False, 5.0, 8.0, "deleted"),  # gone before its TTL ran out, after a send
        (False, 5.0, 11.0, "rearm"),  # gone when its TTL ran out: an expiry, not evidence
        (False, None, 8.0, "rearm"),  # gone without a send seen
        (True, 5.0, 8.0, None),  # still there, within the bound
        (True, 5.0, 10.5, "kept"),  # still there past the bound: not invalidated
    ],
)
def test_invalidation_probe_tells_a_deletion_from_an_expiry(present, sent_at, now, outcome):
    probe = cache.Probe(expires_at=10.0, sent_at=sent_at, fresh=False)
    assert probe.judge(present, 30_000, now - 0.01, now, max_seconds=5.0) == outcome
