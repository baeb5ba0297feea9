"""The post-rollout validation on the test lab after the session's `rollbook rollout
--apply`: it passes, and each injected regression makes it fail with a clear finding
(then the lab is put back)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from _phases_lab import build_keyset_indexes, rollbook_run
from psycopg import sql
from test_lab import flags  # noqa: F401  (fixture)

from rollbook.cache.client import redis_client
from rollbook.cache.contract import history_key
from rollbook.runbooks import steady

REPO = Path(__file__).resolve().parents[2]
LAB_PARAMS = REPO / "params" / "lab.yaml"
NOTEBOOK = "05_post_rollout_validation.ipynb"
MIN_WINDOW = timedelta(seconds=45)


@pytest.fixture(scope="module")
def archive(rollout, lab_params) -> Path:
    """The archive of the rollout (its preflight baseline and Phase 1 plans), once the
    validation has MIN_WINDOW of traffic since the last flag change to judge."""
    assert rollout.done.returncode == 0, "the rollout failed: see test_rollout"
    now = datetime.now(UTC)
    changed = steady.last_flag_change(lab_params, now - MIN_WINDOW)
    if changed is not None:
        time.sleep(max(0.0, (changed + MIN_WINDOW - now).total_seconds()))
    return rollout.output_dir


def params_copy(tmp_path: Path, *edits) -> Path:
    """params/lab.yaml with `edits` applied, in `tmp_path`."""
    data = yaml.safe_load(LAB_PARAMS.read_text())
    for edit in edits:
        edit(data)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def fast(data: dict) -> None:
    """A short pagination walk: these tests are about other findings."""
    data["validation"]["pagination_max_rows"] = 200


def results(done) -> dict:
    run_dir = Path(done.stdout.strip().splitlines()[-1].removeprefix("archived in "))
    return json.loads((run_dir / "results.json").read_text())


def failing(result: dict) -> dict[str, str]:
    return {c["name"]: c["detail"] for c in result["checks"] if c["name"] in result["failing"]}


def test_validation_passes_after_the_rollout(archive):
    done = rollbook_run(NOTEBOOK, LAB_PARAMS, archive)
    assert done.returncode == 0, done.stdout[-3000:]
    checks = {c["name"]: c for c in results(done)["checks"]}
    ratio = next(c for n, c in checks.items() if n.startswith("Primary tuples read: now"))
    assert ratio["status"] == "pass" and ratio["required"]  # the preflight baseline was found
    assert checks["pagination: rows missing or repeated"]["observed"] == 0


def test_broken_keyset_query_fails_pagination(archive, tmp_path):
    def cursor_the_wrong_way(data):
        query = data["queries"]["history_next_page"]
        query["sql"] = query["sql"].replace(
            "(created_at, id) < (%(before_created_at)s, %(before_id)s)",
            "(created_at < %(before_created_at)s"
            " OR (created_at = %(before_created_at)s AND id > %(before_id)s))",
        )

    # the whole walk (not `fast`): the wrong cursor only goes astray at timestamp ties
    done = rollbook_run(NOTEBOOK, params_copy(tmp_path, cursor_the_wrong_way), archive)
    assert done.returncode == 1, done.stdout[-3000:]
    blocking = failing(results(done))
    assert "pagination: rows missing or repeated" in blocking
    assert "pagination: same order as a full ordered scan" in blocking


def test_corrupted_cache_entry_is_found(archive, lab, lab_params, tmp_path):
    with lab.primary.connect() as conn:
        # the last conversation: a quiet one, no send invalidates it during the test
        conversation = conn.execute("SELECT max(conversation_id) FROM messages").fetchone()[0]
        rows = conn.execute(
            "SELECT id, sender_id, body, created_at FROM messages WHERE conversation_id = %s "
            "ORDER BY created_at DESC, id DESC LIMIT 50",
            (conversation,),
        ).fetchall()
    assert rows
    page = [[r[0], r[1], r[2] + " (tampered)", r[3].isoformat()] for r in rows]
    client = redis_client(lab_params.redis)
    client.hset(history_key(conversation), "first", json.dumps(page))
    client.expire(history_key(conversation), 300)
    every_entry = params_copy(
        tmp_path, lambda d: d["validation"].update(cache_sample_size=100_000), fast
    )
    try:
        done = rollbook_run(NOTEBOOK, every_entry, archive)
    finally:
        client.delete(history_key(conversation))
    assert done.returncode == 1, done.stdout[-3000:]
    blocking = failing(results(done))
    mismatch = blocking["cache: sampled entries that differ from the database"]
    assert f"{history_key(conversation)} first" in mismatch


def test_dropped_keyset_index_fails_plan_regression(archive, lab, lab_params, tmp_path, flags):  # noqa: F811
    fast_copy = params_copy(tmp_path, fast)
    # history without its index scans the whole table: at the lab's full rate that
    # saturates both cores for minutes, so the regression runs under light traffic
    flags("workload.rate.history", 2)
    with lab.primary.connect() as conn:
        conn.autocommit = True
        conn.execute(
            sql.SQL("DROP INDEX CONCURRENTLY {}").format(
                sql.Identifier("messages_conversation_keyset_idx")
            )
        )
    try:
        done = rollbook_run(NOTEBOOK, fast_copy, archive)
    finally:
        build_keyset_indexes(lab_params)
    assert done.returncode == 1
    blocking = failing(results(done))
    assert "primary: history_first_page: uses index: messages_conversation_keyset_idx" in blocking
    assert "primary: history_next_page: no node: Seq Scan on messages" in blocking
