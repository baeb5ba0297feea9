"""Variant selection: percentage flags pick canary requests, the rest are baseline."""

import random

import pytest

from rollbook.lab.workload.selection import (
    VARIANT_LABELS,
    Plan,
    plan_request,
    possible_plans,
    selected,
)


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


def test_each_family_labels_its_own_canaries():
    """With pgbouncer at 100 %, a cache ramp still has cache-baseline requests."""
    plan = Plan(pgbouncer=True, cache=False)
    labels = dict(zip(VARIANT_LABELS, plan.labels(), strict=True))
    assert labels == {
        "variant": "canary",
        "pgbouncer": "canary",
        "cache": "baseline",
        "replica": "baseline",
    }


def test_possible_plans_cover_every_draw():
    rng = random.Random(5)
    flags = {f"{f}.{e}": 50 for f in ("pgbouncer", "cache", "replica") for e in ("history", "send")}
    for endpoint in ("history", "send"):
        drawn = {plan_request(endpoint, flags, rng) for _ in range(2_000)}
        assert drawn == set(possible_plans(endpoint))
    assert len(possible_plans("history")) == 8 and len(possible_plans("send")) == 2
