"""EXPLAIN against a real PostgreSQL: ANALYZE of a write is rolled back, plain EXPLAIN plans."""

from __future__ import annotations

from pathlib import Path

import pytest
from _explainpg import throwaway_postgres

from rollbook.db.session import session
from rollbook.explain.analysis import analyse
from rollbook.explain.assertions import check_assertions
from rollbook.explain.params import PlanAssertion
from rollbook.explain.run import explain, run_named_query
from rollbook.params import Params
from rollbook.verdict import Status

SCHEMA = Path(__file__).resolve().parents[2] / "lib/rollbook/lab/sql"
HISTORY = (
    "SELECT id, sender_id, body, created_at FROM messages WHERE conversation_id = "
    "%(conversation_id)s ORDER BY created_at DESC, id DESC LIMIT 50"
)
INSERT = (
    "INSERT INTO messages (conversation_id, sender_id, body) "
    "SELECT 1, 1, 'hi ' || i FROM generate_series(1, %(n)s) i"
)


@pytest.fixture(scope="module")
def params():
    with throwaway_postgres() as endpoint:
        with session(endpoint) as conn:
            conn.execute((SCHEMA / "schema.sql").read_text())
            conn.execute("INSERT INTO users (name) VALUES ('a')")
            conn.execute("INSERT INTO conversations (title) VALUES ('c')")
            conn.execute(
                "INSERT INTO messages (conversation_id, sender_id, body) "
                "SELECT 1, 1, 'm' || i FROM generate_series(1, 1000) i"
            )
            conn.execute((SCHEMA / "constraints.sql").read_text())
            conn.execute(
                "CREATE INDEX messages_conversation_keyset_idx "
                "ON messages (conversation_id, created_at DESC, id DESC)"
            )
            conn.execute("VACUUM ANALYZE")
        yield Params(
            environment="explain-test",
            primary=endpoint,
            queries={
                "history_first_page": {"sql": HISTORY, "params": {"conversation_id": 1}},
                "send_messages": {"sql": INSERT, "params": {"n": 100}},
            },
        )


def count_messages(conn) -> int:
    return conn.execute("SELECT count(*) FROM messages").fetchone()[0]


def test_explain_analyze_of_an_insert_leaves_no_rows(params):
    with session(params.primary, params.safety, purpose="explain") as conn:
        before = count_messages(conn)
        plan = run_named_query(conn, params.queries, "send_messages", analyze=True)
        assert count_messages(conn) == before
    assert plan.root.label == "Insert on messages"
    assert plan.execution_ms is not None and plan.root.loops == 1
    assert {t.relation for t in plan.triggers} == {"messages"}  # the FK checks ran
    assert "WAL Records" in plan.root.raw


def test_rolled_back_inside_a_caller_transaction_too(params):
    with session(params.primary, params.safety, autocommit=False) as conn:
        before = count_messages(conn)
        explain(conn, INSERT, {"n": 10}, analyze=True)
        assert count_messages(conn) == before
        conn.rollback()


def test_plain_explain_plans_without_running(params):
    with session(params.primary, params.safety, read_only=True) as conn:
        plan = run_named_query(conn, params.queries, "history_first_page", analyze=False)
        write = explain(conn, INSERT, {"n": 10}, analyze=False)  # allowed read-only: not run
    assert not plan.analyzed and not write.analyzed
    checks = check_assertions(plan, [PlanAssertion(uses_index="messages_conversation_keyset_idx")])
    assert checks[0].status is Status.PASS
    assert analyse(plan).findings == []


def test_settings_apply_to_one_explain_only(params):
    with session(params.primary, params.safety) as conn:
        plan = explain(conn, HISTORY, {"conversation_id": 1}, settings={"work_mem": "77kB"})
        assert plan.settings["work_mem"] == "77kB"
        assert conn.execute("SHOW work_mem").fetchone()[0] == "4MB"
