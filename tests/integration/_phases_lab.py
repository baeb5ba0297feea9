"""Helpers of the tests that run runbooks on the test lab: run one and read its results,
put the lab's flags and keyset indexes in a known state, count acknowledged sends vs rows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from _wait import steady
from psycopg import sql
from test_lab import flag_in_effect, metric_sum

from rollbook.canary.result import Outcome
from rollbook.db import session
from rollbook.flags import FlagStore
from rollbook.postgres.migration import index_builds
from rollbook.postgres.replica_wait import wait_for_replay
from rollbook.rollout import ROLLOUT_FLAGS, flags_back_to_seed
from rollbook.runbooks import indexes

REPO = Path(__file__).resolve().parents[2]
PARAMS = REPO / "params" / "lab.yaml"
ROLLBOOK = Path(sys.executable).parent / "rollbook"


def rollbook(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([str(ROLLBOOK), *args], capture_output=True, text=True, timeout=timeout)


def rollbook_run(notebook: str, params_file: Path, out: Path, *args: str):
    """`rollbook run` of a repository notebook; the finished process."""
    return rollbook("run", str(REPO / "notebooks" / notebook), "--params", str(params_file),
                    "--output-dir", str(out), *args)  # fmt: skip


def run_phase(notebook: str, out: Path, *args: str) -> tuple[subprocess.CompletedProcess, dict]:
    """`rollbook run` a repository notebook on the lab params; process and results.json."""
    done = rollbook_run(notebook, PARAMS, out, *args)
    results = sorted(out.glob("*/results.json"), key=lambda p: p.stat().st_mtime)[-1]
    return done, json.loads(results.read_text())


def dry_run_phase(notebook: str, params, out: Path, ramps: int, unchanged=lambda: None) -> dict:
    """A phase runbook's dry run: it passes, plans `ramps` ramps and changes no flag (nor
    what `unchanged()` reads); its results."""
    before = flag_state(params), unchanged()
    done, results = run_phase(notebook, out)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (flag_state(params), unchanged()) == before
    assert [r["outcome"] for r in results["data"]["ramps"]["ramps"]] == [Outcome.DRY_RUN] * ramps
    return results


def checks_by_name(results: dict) -> dict[str, dict]:
    return {c["name"]: c for c in results["checks"]}


def flag_state(params) -> tuple[dict[str, float | None], int]:
    """Every phase flag's value and the number of audit rows (any change adds one)."""
    with session(params.primary, params.safety, purpose="test") as conn:
        store = FlagStore(conn)
        store.ensure_schema()
        values = {f: store.get(f) for f in ROLLOUT_FLAGS}
        audited = conn.execute("SELECT count(*) FROM rollbook.flag_audit").fetchone()[0]
    return values, audited


def reset_flags(params) -> None:
    """Every phase flag back to 0 (the seed state)."""
    with session(params.primary, params.safety, purpose="test") as conn:
        flags_back_to_seed(FlagStore(conn), run_id="test reset")


@pytest.fixture
def seed_flags(lab_params):
    """Rollout flags at their seed values for the test, and again after it."""
    reset_flags(lab_params)
    yield
    reset_flags(lab_params)


def drop_keyset_indexes(lab) -> None:
    with lab.primary.connect() as conn:
        for build in index_builds():
            conn.execute(sql.SQL("DROP INDEX IF EXISTS {}").format(sql.Identifier(build.name)))


def build_keyset_indexes(params) -> None:
    """The Phase 1 indexes, built and analysed with its library, replayed on the replica."""
    applying = params.model_copy(
        update={"safety": params.safety.model_copy(update={"apply": True})}
    )
    indexes.apply(applying, indexes.plan_of_work(applying), gates=[])
    indexes.analyze_tables(applying, index_builds())
    wait_for_replay(params, 60)


def settled_sends(lab, conn) -> tuple[float, int]:
    """(acknowledged sends, rows in `messages`) once no send is in flight: the workload runs
    at the send rate 0 set before, and both numbers hold still for two flag polls."""
    flag_in_effect(lab, "workload.rate.send", 0)

    def read() -> tuple[float, int]:
        acked = metric_sum(lab, "chat_sends_acknowledged_total")
        return acked, conn.execute("SELECT count(*) FROM messages").fetchone()[0]

    return steady(read, 2, 60, "acknowledged sends and rows")


class SendLedger:
    """Acknowledged sends (workload counter) vs rows in `messages`, with sends paused at
    both ends so no send is in flight when either is read."""

    def __init__(self, lab, params) -> None:
        self.lab, self.params = lab, params

    def _settled(self) -> tuple[float, int]:
        with session(self.params.primary, self.params.safety, purpose="test") as conn:
            store = FlagStore(conn)
            rate = store.stored().get("workload.rate.send")
            store.set("workload.rate.send", 0, run_id="test ledger")
            acked, rows = settled_sends(self.lab, conn)
            if rate is None:
                conn.execute("DELETE FROM rollbook.flags WHERE name = 'workload.rate.send'")
            else:
                store.set("workload.rate.send", rate[0], run_id="test ledger")
        return acked, rows

    def __enter__(self) -> SendLedger:
        self.before = self._settled()
        return self

    def __exit__(self, *exc) -> None:
        self.after = self._settled()

    @property
    def acknowledged(self) -> float:
        return self.after[0] - self.before[0]

    @property
    def written(self) -> int:
        return self.after[1] - self.before[1]
