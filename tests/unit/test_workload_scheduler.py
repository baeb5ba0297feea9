"""Open-loop arrivals: on schedule regardless of how long requests take (real clock, short)."""

import asyncio
import random
import time

import pytest

from rollbook.lab.workload.scheduler import OpenLoop


def run_loop(seconds: float, rate, handle, **kwargs) -> tuple[OpenLoop, list[float]]:
    """Run an OpenLoop for `seconds`; returns it and the scheduled times of overloads."""
    overloads: list[float] = []

    async def main() -> OpenLoop:
        stop = asyncio.Event()
        loop = OpenLoop(rate, handle, overloads.append, **kwargs)
        asyncio.get_running_loop().call_later(seconds, stop.set)
        await loop.run(stop)
        return loop

    return asyncio.run(main()), overloads


def recorder():
    calls: list[tuple[float, float]] = []  # (scheduled_at, started_at)

    async def handle(scheduled_at: float) -> None:
        calls.append((scheduled_at, time.monotonic()))

    return calls, handle


def test_fixed_schedule_arrives_at_the_configured_rate():
    calls, handle = recorder()
    run_loop(1.0, lambda: 100, handle, poisson=False)
    assert 97 <= len(calls) <= 101
    gaps = [b[0] - a[0] for a, b in zip(calls, calls[1:], strict=False)]
    assert gaps == pytest.approx([0.01] * len(gaps), abs=1e-9)


def test_poisson_arrivals_follow_the_drawn_gaps():
    calls, handle = recorder()
    run_loop(1.0, lambda: 300, handle, poisson=True, rng=random.Random(5))
    expected_rng = random.Random(5)
    expected_rng.expovariate(300)  # the gap before the first arrival
    expected = [t := calls[0][0]]
    while len(expected) < len(calls):
        t += expected_rng.expovariate(300)
        expected.append(t)
    assert [c[0] for c in calls] == pytest.approx(expected, abs=1e-9)
    assert 240 <= len(calls) <= 360  # 300/s, Poisson spread


def test_slow_requests_do_not_slow_arrivals():
    calls, _ = recorder()

    async def slow(scheduled_at: float) -> None:
        calls.append((scheduled_at, time.monotonic()))
        await asyncio.sleep(0.3)

    loop, overloads = run_loop(0.5, lambda: 100, slow, poisson=False)
    assert 47 <= len(calls) <= 51 and not overloads
    assert not loop.in_flight  # run() waited for them


def test_latency_counts_from_scheduled_start_through_a_stall():
    """A stalled event loop delays starts; the scheduled times stay on the grid, so
    latency measured from them includes the stall, and no arrival is skipped."""
    calls, record = recorder()

    async def handle(scheduled_at: float) -> None:
        record_started = len(calls)
        await record(scheduled_at)
        if record_started == 20:
            time.sleep(0.3)  # block the event loop

    run_loop(1.0, lambda: 100, handle, poisson=False)
    delays = [started - scheduled for scheduled, started in calls]
    assert max(delays) >= 0.25
    assert 97 <= len(calls) <= 101
    gaps = [b[0] - a[0] for a, b in zip(calls, calls[1:], strict=False)]
    assert gaps == pytest.approx([0.01] * len(gaps), abs=1e-9)


def test_arrivals_over_the_in_flight_bound_are_reported_not_dropped():
    started: list[float] = []

    async def stuck(scheduled_at: float) -> None:
        started.append(scheduled_at)
        await asyncio.sleep(0.5)

    loop, overloads = run_loop(0.3, lambda: 100, stuck, poisson=False, max_in_flight=5)
    assert len(started) == 5
    assert 23 <= len(overloads) <= 26
    assert len(started) + len(overloads) == pytest.approx(30, abs=2)


def test_rate_is_read_per_arrival():
    calls, handle = recorder()
    begin = time.monotonic()
    run_loop(1.0, lambda: 0 if time.monotonic() - begin < 0.5 else 100, handle, poisson=False)
    assert calls and calls[0][0] - begin >= 0.5
    assert len(calls) == pytest.approx((begin + 1.0 - calls[0][0]) / 0.01, abs=3)
