"""Phase 1 and explorer logic that needs no server: actions, progress, messages, plans."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from rollbook.explain.analysis import analyse
from rollbook.params import Params
from rollbook.postgres.build_progress import ProgressDisplay
from rollbook.postgres.index_build import Blocker, BuildProgress, WatchedRun, _blocked_message
from rollbook.postgres.migration import index_builds
from rollbook.postgres.replica_wait import Replay
from rollbook.runbooks import indexes, plan_explorer
from rollbook.verdict import Status, expect

PLANS = Path(__file__).resolve().parents[1] / "fixtures" / "plans"
PARAMS = Params(
    environment="unit",
    primary={"dbname": "chat", "user": "app"},
    queries={"history_first_page": {"sql": "SELECT 1 WHERE %(c)s > 0", "params": {"c": 1}}},
    explain={"assertions": {"history_next_page": [{"uses_index": "messages_keyset_idx"}]}},
)


def progress(phase: str, blocks=(0, 0), tuples=(0, 0)) -> BuildProgress:
    return BuildProgress(phase, *blocks, *tuples, 0, 0, 0)


@pytest.mark.parametrize(
    ("state", "action"), [("missing", "build"), ("valid", "skip"), ("invalid", "drop + rebuild")]
)
def test_plan_of_work_action_follows_the_index_state(state, action):
    work = indexes.Work(index_builds()[0], state)
    assert work.action == action
    assert indexes.work_table([work]).loc[0, "action"] == action


def test_dry_run_apply_changes_nothing_and_skips_valid_indexes():
    first, second = index_builds()[:2]
    applied = indexes.apply(
        PARAMS, [indexes.Work(first, "missing"), indexes.Work(second, "valid")], []
    )
    assert list(applied.table["outcome"]) == ["DRY RUN: would build", "skipped: already valid"]
    assert not applied.changed


def test_progress_counts_the_counter_that_moves():
    assert progress("building index: scanning table", blocks=(10, 40)).done_total == (10, 40)
    assert progress("building index: sorting", tuples=(5, 50)).done_total == (5, 50)
    assert progress("initializing").done_total == (0, 0)


def test_headless_progress_logs_one_line_per_phase(capsys):
    show = ProgressDisplay("idx", log_lines=True, log_every_seconds=3600)
    with show:
        show(progress("building index: scanning table", blocks=(1, 4)))
        show(progress("building index: scanning table", blocks=(2, 4)))
        show(progress("waiting for old snapshots"))
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "idx: building index: scanning table 1/4 (25%)",
        "idx: waiting for old snapshots",
    ]


def test_lock_timeout_message_names_the_blocker_and_its_query():
    blocker = Blocker(4242, "app", "psql", "idle in transaction", 2.5, "LOCK TABLE messages")
    run = WatchedRun(
        "CREATE INDEX CONCURRENTLY i ON messages (a)", 3.0, progress("initializing"), [blocker]
    )
    message = _blocked_message(run.statement, 3000, run)
    assert "lock_timeout (3000 ms)" in message and "'initializing'" in message
    assert "pid 4242" in message and "LOCK TABLE messages" in message
    assert "transaction open 2.5 s" in message
    assert "no blocking session was caught" in _blocked_message(
        "DROP INDEX i", 10, WatchedRun("", 0, None, [])
    )


@pytest.mark.parametrize(
    ("replayed", "behind", "status", "detail"),
    [("0/10", -8.0, Status.PASS, "replayed 0/8"), ("0/4", 4.0, Status.FAIL, "4 bytes behind"),
     (None, None, Status.FAIL, "not in recovery")],
)  # fmt: skip
def test_replay_check(replayed, behind, status, detail):
    check = Replay("0/8", replayed, behind, 1.0, 30).check()
    assert check.status is status and detail in check.detail


def test_latency_without_a_change_or_prometheus_is_no_data_and_not_required():
    now = datetime.now(UTC)
    unchanged = indexes.Applied(pd.DataFrame(), now, now, changed=False)
    for params in (PARAMS, PARAMS.model_copy(update={"prometheus": {"url": "http://127.0.0.1:9"}})):
        latency = indexes.history_latency(params, unchanged)
        assert latency.check.status is Status.NO_DATA and not latency.check.required
        assert latency.figure is None


def test_preconditions_must_pass_before_an_apply():
    applying = PARAMS.model_copy(
        update={"safety": PARAMS.safety.model_copy(update={"apply": True})}
    )
    failed = expect("replica streaming", False)
    with pytest.raises(indexes.PreconditionsFailed, match="replica streaming"):
        indexes.apply(applying, [indexes.Work(index_builds()[0], "missing")], [failed])


def test_unknown_target_and_missing_replica_are_clear_errors():
    with pytest.raises(ValueError, match="no `replica` section"):
        indexes.endpoint(PARAMS, "replica")
    with pytest.raises(ValueError, match="unknown target 'standby'"):
        indexes.endpoint(PARAMS, "standby")


def test_explorer_loads_a_plan_from_a_path_or_pasted_json():
    path = PLANS / "history_next_page.json"
    from_path = plan_explorer.load_plan(str(path))
    pasted = plan_explorer.load_plan(path.read_text())
    assert from_path.name == "history_next_page" and pasted.name == "pasted plan"
    assert [n.label for n in from_path.nodes] == [n.label for n in pasted.nodes]
    with pytest.raises(FileNotFoundError, match="plan file not found"):
        plan_explorer.load_plan("/nonexistent/plan.json")


def test_explorer_reads_a_pasted_text_plan_as_the_same_plan_as_its_json():
    """A TEXT-format plan pasted into `plan_json` is a plan, not a file name."""
    cases = Path(__file__).parent.parent / "fixtures" / "plans" / "cases"
    text = (cases / "hash_join_empty_inner.text.plan").read_text()
    pasted = plan_explorer.load_plan(text)
    saved = plan_explorer.load_plan(str(cases / "hash_join_empty_inner.json"))
    assert pasted.name == "pasted plan"
    assert [n.node_type for n in pasted.nodes] == [n.node_type for n in saved.nodes]


def test_explorer_query_from_name_sql_or_nothing():
    text, binds, name = plan_explorer.query_text(
        PARAMS, "history_first_page", sql_params='{"c": 2}'
    )
    assert binds == {"c": 2} and name == "history_first_page" and "%(c)s" in text
    assert plan_explorer.query_text(PARAMS, sql="SELECT 2")[1:] == ({}, "ad-hoc query")
    with pytest.raises(ValueError, match="give query_name"):
        plan_explorer.query_text(PARAMS)


def test_explorer_assertions_are_informational():
    plan = plan_explorer.load_plan(str(PLANS / "history_next_page.json"))
    checks = plan_explorer.assertion_checks(PARAMS, plan)
    assert len(checks) == 1 and not checks[0].required
    assert len(plan_explorer.charts(analyse(plan))) == 3
