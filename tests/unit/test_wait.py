"""The tests' one way to wait: poll a condition until a deadline, fail saying what for."""

import itertools

import pytest
from _wait import eventually, steady


def test_eventually_returns_the_first_truthy_value():
    values = iter([None, 0, [], "ready", "later"])
    assert eventually(lambda: next(values), 5, "a value", interval=0) == "ready"


def test_eventually_fails_naming_what_it_waited_for_and_the_last_value():
    with pytest.raises(AssertionError, match=r"waited 0.05 s for the replica; last seen: \[\]"):
        eventually(lambda: [], 0.05, "the replica", interval=0.01)


def test_steady_returns_a_value_once_it_stops_changing():
    counter = itertools.chain([1, 2, 3], itertools.repeat(4))
    assert steady(lambda: next(counter), 0.05, 5, "the counter") == 4


def test_steady_fails_when_the_value_keeps_changing():
    counter = itertools.count()
    with pytest.raises(AssertionError, match=r"the counter to hold still for 0.05 s.*last read"):
        steady(lambda: next(counter), 0.05, 0.2, "the counter")
