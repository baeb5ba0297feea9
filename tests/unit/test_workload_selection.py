"""Variant selection: percentage flags pick canary requests, the rest are baseline."""

import random

import pytest

from rollbook.lab.workload.selection import Plan, plan_request, selected


@pytest.mark.parametrize("percent", [0, 10, 50, 90, 100])
def test_selected_share_matches_percent(percent):
    rng = random.Random(7)
    hits = sum(selected(percent, rng) for _ in range(20_000))
    assert hits / 20_000 * 100 == pytest.approx(percent, abs=1.0)


def test_no_flags_means_baseline_everywhere():
    rng = random.Random(1)
    for endpoint in ("history", "send", "conversations"):
        plan = plan_request(endpoint, {}, rng)
        assert plan == Plan() and plan.variant == "baseline"


def test_each_percentage_flag_makes_canaries():
    rng = random.Random(2)
    assert plan_request("send", {"pgbouncer.send": 100}, rng) == Plan(pgbouncer=True)
    assert plan_request("history", {"cache.history": 100}, rng).variant == "canary"
    assert plan_request("conversations", {"replica.conversations": 100}, rng) == Plan(replica=True)


def test_flags_of_other_endpoints_do_not_apply():
    rng = random.Random(3)
    flags = {"pgbouncer.history": 100, "cache.conversations": 100, "cache.send": 100}
    assert plan_request("send", flags, rng).variant == "baseline"
    assert plan_request("history", flags, rng) == Plan(pgbouncer=True)


def test_canary_share_follows_the_flag():
    rng = random.Random(4)
    plans = [plan_request("history", {"replica.history": 25}, rng) for _ in range(10_000)]
    canaries = sum(p.variant == "canary" for p in plans)
    assert canaries / 100 == pytest.approx(25, abs=1.5)
    assert all(p.replica for p in plans if p.variant == "canary")
