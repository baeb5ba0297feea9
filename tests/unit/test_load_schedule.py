"""Arrival schedules of the load generator: rates, worker shares, warm-up and ladders."""

from __future__ import annotations

import random

import pytest

from rollbook.load.schedule import ScheduleError, Step, arrivals


def times(steps, **kwargs) -> list[float]:
    return [a.at for a in arrivals(steps, rng=random.Random(3), **kwargs)]


def test_fixed_schedule_is_evenly_spaced_at_the_rate():
    assert times((Step({"a": 4}, 1.0),), poisson=False) == pytest.approx([0, 0.25, 0.5, 0.75])


def test_workers_with_their_share_and_phase_interleave_into_the_whole_rate():
    steps = (Step({"a": 100}, 1.0),)
    parts = [times(steps, poisson=False, share=1 / 4, phase=i / 4) for i in range(4)]
    assert sorted(t for part in parts for t in part) == pytest.approx([i / 100 for i in range(100)])


def test_poisson_arrivals_average_the_rate():
    steps = (Step({"a": 200}, 1.0),)
    counts = [
        len(list(arrivals(steps, poisson=True, rng=random.Random(seed)))) for seed in range(50)
    ]
    assert sum(counts) / len(counts) == pytest.approx(200, rel=0.03)
    assert len(set(counts)) > 5  # Poisson spread, not a fixed count


def test_request_types_merge_in_time_order_each_at_its_rate():
    found = list(arrivals((Step({"a": 10, "b": 30}, 2.0),), poisson=True, rng=random.Random(1)))
    assert [a.at for a in found] == sorted(a.at for a in found)
    names = [a.name for a in found]
    assert 10 <= names.count("a") <= 35 and 40 <= names.count("b") <= 85


def test_warm_up_is_not_judged_and_ladder_steps_follow_each_other():
    steps = (Step({"a": 10}, 1.0, warmup=0.5), Step({"a": 20}, 1.0, warmup=0.2))
    found = list(arrivals(steps, poisson=False, rng=random.Random(1)))
    assert [(a.step, a.judged) for a in found].count((0, False)) == 5
    assert [(a.step, a.judged) for a in found].count((0, True)) == 5
    assert [(a.step, a.judged) for a in found].count((1, False)) == 4
    assert [(a.step, a.judged) for a in found].count((1, True)) == 16
    assert min(a.at for a in found if a.step == 1) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("rates", "duration", "warmup", "message"),
    [
        ({"a": 0}, 1.0, 0.0, "one of them > 0"),
        ({"a": -1, "b": 2}, 1.0, 0.0, "rates must be >= 0"),
        ({"a": 1}, 0.0, 0.0, "more than 0 s"),
        ({"a": 1}, 1.0, 1.0, "shorter than the step"),
    ],
)
def test_impossible_steps_are_refused(rates, duration, warmup, message):
    with pytest.raises(ScheduleError, match=message):
        Step(rates, duration, warmup)
