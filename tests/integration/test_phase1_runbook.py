"""Phase 1 on the test lab, through `rollbook run`: dry run, a killed build rebuilt, a rerun.

Every test starts and ends without the keyset indexes (the seed state other tests and the
notebooks' dry runs expect).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from _wait import eventually
from psycopg import sql

from rollbook.postgres.index_build import index_state
from rollbook.postgres.migration import index_builds
from rollbook.runbooks import indexes

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK = REPO / "notebooks" / "01_phase1_indexes.ipynb"
PARAMS = REPO / "params" / "lab.yaml"
ROLLBOOK = Path(sys.executable).parent / "rollbook"
KEYSET_INDEXES = [b.name for b in index_builds()]
MESSAGES_INDEX = "messages_conversation_keyset_idx"


def drop_keyset_indexes(lab) -> None:
    with lab.primary.connect() as conn:
        for name in KEYSET_INDEXES:
            conn.execute(sql.SQL("DROP INDEX IF EXISTS {}").format(sql.Identifier(name)))


def states(instance) -> dict[str, str]:
    with instance.connect() as conn:
        return {name: index_state(conn, name) for name in KEYSET_INDEXES}


@pytest.fixture
def seed_state(lab):
    """No keyset index before the test, none after it."""
    drop_keyset_indexes(lab)
    yield
    drop_keyset_indexes(lab)


def run_phase1(out: Path, *args: str) -> tuple[subprocess.CompletedProcess, dict]:
    """`rollbook run` the Phase 1 notebook; its process result and results.json."""
    command = [str(ROLLBOOK), "run", str(NOTEBOOK), "--params", str(PARAMS)]
    command += ["--output-dir", str(out), *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    results = sorted(out.glob("*/results.json"), key=lambda p: p.stat().st_mtime)[-1]
    return done, json.loads(results.read_text())


def checks_by_name(results: dict) -> dict[str, dict]:
    return {c["name"]: c for c in results["checks"]}


def test_dry_run_changes_nothing(lab, seed_state, tmp_path):
    assert set(states(lab.primary).values()) == {"missing"}
    done, results = run_phase1(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "DRY RUN" in done.stdout
    assert set(states(lab.primary).values()) == {"missing"}
    assert [w["action"] for w in results["data"]["plan_of_work"]] == ["build"] * 3
    assert all(r["outcome"] == "DRY RUN: would build" for r in results["data"]["apply"])
    # The after-plans are shown but not required in a dry run: they fail without the index.
    after = checks_by_name(results)[f"primary: history_first_page: uses index: {MESSAGES_INDEX}"]
    assert after["status"] == "fail" and after["required"] is False


def _wait_for_build_pid(conn, timeout: float = 60) -> int:
    """The pid of the concurrent build on messages once it waits for the open writer."""
    row = eventually(
        lambda: conn.execute(
            "SELECT pid FROM pg_stat_progress_create_index "
            "WHERE relid = 'messages'::regclass AND phase = 'waiting for writers before build'"
        ).fetchone(),
        timeout,
        "the concurrent build on messages to wait for the open writer",
        interval=0.05,
    )
    return row[0]


def kill_build_midway(lab, params) -> BaseException | None:
    """Start Phase 1's build while a writer is open on messages, terminate the builder.

    A concurrent build first waits for every transaction that writes the table: the open
    INSERT holds it there, with its catalog entry already made, for as long as we like.
    """
    failure: list[BaseException] = []

    def build() -> None:
        try:
            indexes.apply(params, indexes.plan_of_work(params), [])
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            failure.append(exc)

    with lab.primary.connect() as writer, lab.primary.connect() as killer:
        writer.execute("BEGIN")
        writer.execute(
            "INSERT INTO messages (conversation_id, sender_id, body) SELECT 1, user_id, "
            "'phase1 test: open writer' FROM conversation_members WHERE conversation_id = 1 "
            "LIMIT 1"
        )
        builder = threading.Thread(target=build)
        builder.start()
        try:
            pid = _wait_for_build_pid(killer)
            killer.execute("SELECT pg_terminate_backend(%s)", [pid])
        finally:
            writer.execute("ROLLBACK")
            builder.join(timeout=60)
    return failure[0] if failure else None


def test_killed_build_is_rebuilt_then_a_rerun_is_a_no_op(lab, lab_params, seed_state, tmp_path):
    safety = lab_params.safety.model_copy(update={"apply": True, "lock_timeout_ms": 60_000})
    params = lab_params.model_copy(update={"safety": safety})
    failure = kill_build_midway(lab, params)
    assert failure is not None and "terminat" in str(failure), failure
    assert states(lab.primary)[MESSAGES_INDEX] == "invalid"

    done, results = run_phase1(tmp_path / "rebuild", "--apply")
    assert done.returncode == 0, done.stdout + done.stderr
    actions = {w["index"]: w["action"] for w in results["data"]["plan_of_work"]}
    assert actions[MESSAGES_INDEX] == "drop + rebuild"
    assert set(states(lab.primary).values()) == set(states(lab.replica).values()) == {"valid"}
    checks = checks_by_name(results)
    for target in ("primary", "replica"):
        for query in ("history_first_page", "history_next_page"):
            for assertion in (
                f"uses index: {MESSAGES_INDEX}",
                "no node: Sort",
                "no node: Seq Scan on messages",
            ):
                check = checks[f"{target}: {query}: {assertion}"]
                assert check["status"] == "pass" and check["required"], check

    done, results = run_phase1(tmp_path / "rerun", "--apply")
    assert done.returncode == 0, done.stdout + done.stderr
    assert [w["action"] for w in results["data"]["plan_of_work"]] == ["skip"] * 3
    assert all(c["status"] == "pass" for c in results["checks"] if c["required"])
    assert checks_by_name(results)[f"replica: index {MESSAGES_INDEX} valid"]["status"] == "pass"
