"""Verdict states of a load step, abort limits, and how named queries take their bind
values from sampled rows."""

from __future__ import annotations

from pathlib import Path

import pytest
from _fake_load import FakeService, FakeTarget

from rollbook.explain.params import NamedQuery
from rollbook.load.abort import AbortLimits, AbortWatch
from rollbook.load.histogram import record
from rollbook.load.judge import Judgement, Objective, judge
from rollbook.load.query import BindError, NamedQueries, Query, binder
from rollbook.load.result import RequestStats, StepResult
from rollbook.load.schedule import ScheduleError, Step
from rollbook.load.spec import GeneratorLimits, LoadSpec
from rollbook.load.tally import Tally
from rollbook.params.load import read_params_file


def tally(ok=0, errors=0, latency=0.01, late_dispatch=0) -> Tally:
    t = Tally(scheduled=ok + errors, ok=ok, late_dispatch=late_dispatch)
    t.errors["boom"] = errors
    for _ in range(ok):
        record(t.latency, latency)
    return t


def step_of(t: Tally) -> StepResult:
    return StepResult(
        0, Step({"x": 10}, 10.0), 10.0, {"x": RequestStats("x", t, 10.0)}, GeneratorLimits()
    )


@pytest.mark.parametrize(
    ("t", "judgement"),
    [
        (tally(ok=100, latency=0.01), Judgement.PASS),
        (tally(ok=100, latency=0.5), Judgement.FAIL),
        (tally(ok=95, errors=5, latency=0.01), Judgement.FAIL),
        (tally(ok=100, latency=0.01, late_dispatch=5), Judgement.INCONCLUSIVE),
        (tally(ok=100, latency=0.5, late_dispatch=5), Judgement.INCONCLUSIVE),
        (tally(), Judgement.NO_DATA),
        (tally(errors=10), Judgement.FAIL),
    ],
)
def test_a_step_passes_fails_or_is_inconclusive(t, judgement):
    verdict = judge(step_of(t), Objective(p95_seconds=0.1))
    assert verdict.judgement is judgement, verdict.detail


def test_rates_and_shares_of_a_step():
    t = tally(ok=90, errors=10, late_dispatch=1)
    t.late_client = 4
    stats = step_of(t).total
    assert (stats.offered_rate, stats.achieved_rate) == (10.0, 9.0)
    assert stats.error_ratio == pytest.approx(0.1)
    assert stats.late_share == pytest.approx(0.05)
    assert stats.late_dispatch_share == pytest.approx(0.01)


def test_abort_watch_judges_only_the_recent_window():
    watch = AbortWatch(AbortLimits(max_error_ratio=0.1, window_seconds=1.0), 0.5)
    watch.add(0, tally(errors=50))
    assert "error ratio 100.0%" in watch.crossed()
    watch.add(1, tally(ok=100))
    watch.add(2, tally(ok=100))  # interval 0 left the window
    assert watch.crossed() is None


def test_abort_watch_p95_limit_and_minimum_count():
    watch = AbortWatch(AbortLimits(max_error_ratio=None, max_p95_seconds=0.2), 0.5)
    watch.add(0, tally(ok=10, latency=1.0))
    assert watch.crossed() is None  # fewer than min_requests
    watch.add(1, tally(ok=30, latency=1.0))
    assert "p95 1000 ms" in watch.crossed()


def test_a_one_column_sample_binds_to_the_only_open_placeholder():
    query = Query("SELECT %(conversation_id)s, %(limit)s", {"limit": 5}, "SELECT id ...")
    assert binder("q", query, ["id"])({"id": 7}) == {"limit": 5, "conversation_id": 7}


def test_sample_columns_bind_by_name_and_positional_placeholders_in_order():
    named = Query("SELECT %(a)s, %(b)s, %(c)s", {"b": 0, "c": 9}, "SELECT 1 AS a, 2 AS b")
    assert binder("q", named, ["b", "a"])({"b": 2, "a": 1}) == {"a": 1, "b": 2, "c": 9}
    positional = Query("SELECT %s, %s", {}, "SELECT 1, 2")
    assert binder("q", positional, ["x", "y"])({"x": 1, "y": 2}) == (1, 2)


def test_a_sample_that_cannot_fill_the_placeholders_is_refused():
    query = Query("SELECT %(a)s, %(b)s", {}, "SELECT 1 AS c, 2 AS d")
    with pytest.raises(BindError, match="placeholders a, b \\(a, b open\\)"):
        binder("q", query, ["c", "d"])


def test_named_queries_come_from_the_params_queries_section():
    lab = read_params_file(Path(__file__).resolve().parents[2] / "params" / "lab.yaml")
    queries = {name: NamedQuery.model_validate(q) for name, q in lab["queries"].items()}
    source = NamedQueries.from_params(queries, ["history_first_page"])
    query = source.queries["history_first_page"]
    assert source.names() == ("history_first_page",)
    assert query.bind_from.startswith("SELECT id FROM conversations")
    assert binder("history_first_page", query, ["id"])({"id": 3}) == {"conversation_id": 3}


def test_clients_split_evenly_over_the_workers_and_never_fewer_than_one_each():
    steps = (Step({"fake": 10}, 1.0),)
    spec = LoadSpec(FakeTarget(), (FakeService(),), steps, clients=10, workers=3)
    assert [spec.clients_of(w) for w in range(3)] == [(0, 4), (4, 3), (7, 3)]
    assert LoadSpec(FakeTarget(), (FakeService(),), steps, clients=2, workers=4).worker_count == 2


def test_a_spec_refuses_request_types_no_source_serves():
    with pytest.raises(ScheduleError, match="no source serves other"):
        LoadSpec(FakeTarget(), (FakeService(),), (Step({"other": 1}, 1.0),), clients=1)
