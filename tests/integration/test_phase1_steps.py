"""Phase 1 steps on the test lab: a lock conflict names its holder, EXPLAIN ANALYZE of a
write leaves nothing behind, the replica wait, hypopg what-if, and the explorer notebook."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import uuid
from html import unescape
from pathlib import Path

import nbformat
import pytest
from test_phase1_runbook import MESSAGES_INDEX, seed_state, states  # noqa: F401 (a fixture)

from rollbook.db import session
from rollbook.explain.run import explain
from rollbook.postgres.index_build import IndexBuildBlocked
from rollbook.postgres.migration import index_builds
from rollbook.postgres.replica_wait import wait_for_replay
from rollbook.runbooks import indexes

# Every test starts and ends without the keyset indexes.
pytestmark = pytest.mark.usefixtures("seed_state")
REPO = Path(__file__).resolve().parents[2]
ROLLBOOK = Path(sys.executable).parent / "rollbook"
# how the keyset scan's label starts (labels are cut at 50 characters when shown)
KEYSET_SCAN = f"Index Scan using {MESSAGES_INDEX}"[:45]


def applying(params):
    return params.model_copy(update={"safety": params.safety.model_copy(update={"apply": True})})


def test_lock_conflict_fails_within_lock_timeout_naming_the_blocker(lab, lab_params):
    params = applying(lab_params)
    work = indexes.plan_of_work(params)
    with lab.primary.connect() as holder:
        holder.execute("BEGIN")
        holder.execute("LOCK TABLE messages IN SHARE ROW EXCLUSIVE MODE")
        began = time.monotonic()
        try:
            with pytest.raises(IndexBuildBlocked) as raised:
                indexes.apply(params, work, [])
        finally:
            waited = time.monotonic() - began
            holder.execute("ROLLBACK")
        message = str(raised.value)
        assert f"pid {holder.info.backend_pid}" in message, message
    assert "LOCK TABLE messages IN SHARE ROW EXCLUSIVE MODE" in message
    assert f"lock_timeout ({params.safety.lock_timeout_ms} ms)" in message
    # Fails at the lock timeout, not after a long wait (margin for a loaded machine).
    assert waited < params.safety.lock_timeout_ms / 1000 + 5
    assert states(lab.primary)[MESSAGES_INDEX] == "missing"


def test_explain_analyze_of_an_insert_on_the_lab_leaves_no_row(lab_params):
    marker = f"phase1 explain probe {uuid.uuid4()}"
    insert = (
        "INSERT INTO messages (conversation_id, sender_id, body) "
        "SELECT 1, user_id, %(body)s FROM conversation_members WHERE conversation_id = 1"
    )
    with session(lab_params.primary, lab_params.safety) as conn:
        plan = explain(conn, insert, {"body": marker}, analyze=True)
        left = conn.execute("SELECT count(*) FROM messages WHERE body = %s", [marker]).fetchone()
    scanned = max(n.rows_total for n in plan.nodes if n.node_type != "ModifyTable")
    assert plan.analyzed and scanned > 0  # the insert really ran ...
    assert left[0] == 0  # ... and was rolled back


def test_replica_wait_then_the_new_index_is_valid_there(lab, lab_params):
    members = next(b for b in index_builds() if b.table == "conversation_members")
    with lab.primary.connect() as conn:
        conn.execute(f"CREATE INDEX {members.name} ON conversation_members (user_id)")
    replay = wait_for_replay(lab_params, timeout_seconds=30)
    assert replay.caught_up and replay.check().status == "pass"
    table, checks = indexes.state_checks(lab_params, [members], "replica")
    assert list(table["state"]) == ["valid"] and checks[0].status == "pass"
    assert states(lab.replica)[MESSAGES_INDEX] == "missing"


def test_what_if_plans_use_hypothetical_indexes_and_build_nothing(lab, lab_params):
    plans = indexes.what_if_plans(lab_params)
    used = {n.index for n in plans["history_first_page"].plan.nodes if n.index}
    assert any(name.startswith("<") and "btree_messages" in name for name in used), used
    assert set(states(lab.primary).values()) == {"missing"}


def test_explorer_what_if_and_compare_through_rollbook_run(lab, tmp_path):
    saved = REPO / "tests" / "fixtures" / "plans" / "history_next_page.json"
    command = [
        str(ROLLBOOK), "run", str(REPO / "notebooks" / "explain_explorer.ipynb"),
        "--params", str(REPO / "params" / "lab.yaml"), "--output-dir", str(tmp_path),
        "-p", "query_name=history_next_page", "-p", "target=replica", "-p", "analyze=true",
        "-p", "what_if_index=CREATE INDEX ON messages (conversation_id, created_at DESC, id DESC)",
        "-p", f"compare_with={saved}",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    notebook = nbformat.read(next(tmp_path.glob("*/notebook.ipynb")), as_version=4)
    outputs = [output for cell in notebook.cells for output in cell.get("outputs", [])]
    text = "\n".join(str(output.get("text", "")) for output in outputs)
    assert "hypothetical index: <" in text
    # the node diffs shown: what-if (the plan now -> with the hypothetical index), then
    # the saved plan -> now
    tables = [output.get("data", {}).get("text/html", "") for output in outputs]
    diffs = [html_table(table) for table in tables if "<th>change</th>" in table]
    assert len(diffs) == 2, f"{len(diffs)} node diffs shown"
    what_if, saved_to_now = diffs
    assert any(
        row["change"] == "replaced" and " using <" in row["after_label"] for row in what_if
    ), what_if
    # the saved plan walked the keyset index, which the seed state does not have
    keyset = [row for row in saved_to_now if KEYSET_SCAN in row["before_label"]]
    assert [row["change"] for row in keyset] == ["replaced"], saved_to_now
    assert KEYSET_SCAN not in keyset[0]["after_label"]
    assert {"change": "same", "before_label": "Limit"}.items() <= saved_to_now[0].items()


def html_table(html: str) -> list[dict[str, str]]:
    """The rows of a DataFrame's HTML display, as {column: cell text}."""
    rows = [
        [unescape(cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", html, re.S)
    ]
    header, *body = rows
    return [dict(zip(header, row, strict=True)) for row in body]
