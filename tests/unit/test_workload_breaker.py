"""The replica circuit breaker state machine, driven by a fake clock."""

import pytest

from rollbook.lab.workload.breaker import BreakerState, ReplicaBreaker


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def breaker(clock):
    return ReplicaBreaker(cooldown_seconds=5, probes_to_close=3, clock=clock)


def test_starts_closed_and_stays_closed_under_low_lag(breaker):
    breaker.record_lag(0.2, max_lag_seconds=1)
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.allows_replica()


@pytest.mark.parametrize("lag", [1.5, None])
def test_lag_above_threshold_or_failed_check_opens(breaker, lag):
    breaker.record_lag(lag, max_lag_seconds=1)
    assert breaker.state is BreakerState.OPEN
    assert not breaker.allows_replica()


def test_replica_error_opens(breaker):
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN


def test_half_opens_after_cooldown_then_closes_after_probes(breaker, clock):
    breaker.record_failure()
    clock.now += 4.9
    assert breaker.state is BreakerState.OPEN
    clock.now += 0.1
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.allows_replica()
    breaker.record_success()
    breaker.record_success()
    assert breaker.state is BreakerState.HALF_OPEN
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED


def test_failed_probe_reopens_for_a_full_cooldown(breaker, clock):
    breaker.record_failure()
    clock.now += 5
    assert breaker.state is BreakerState.HALF_OPEN
    breaker.record_success()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    clock.now += 4
    assert breaker.state is BreakerState.OPEN
    clock.now += 1
    assert breaker.state is BreakerState.HALF_OPEN
    breaker.record_success()  # the earlier probe success does not count any more
    breaker.record_success()
    assert breaker.state is BreakerState.HALF_OPEN


def test_stays_open_while_lag_is_high(breaker, clock):
    breaker.record_lag(10, max_lag_seconds=1)
    clock.now += 60
    breaker.record_lag(9, max_lag_seconds=1)
    clock.now += 60
    assert breaker.state is BreakerState.OPEN
    breaker.record_lag(0.5, max_lag_seconds=1)  # lag recovered, cooldown since last high lag
    assert breaker.state is BreakerState.HALF_OPEN


def test_high_lag_in_half_open_reopens(breaker, clock):
    breaker.record_failure()
    clock.now += 5
    assert breaker.state is BreakerState.HALF_OPEN
    breaker.record_lag(2, max_lag_seconds=1)
    assert breaker.state is BreakerState.OPEN


def test_state_values_match_the_metric_contract():
    assert [int(s) for s in (BreakerState.CLOSED, BreakerState.HALF_OPEN, BreakerState.OPEN)] == [
        0,
        1,
        2,
    ]
