"""Open-loop arrivals: on schedule regardless of how long requests take. The event loop runs
on a virtual clock that jumps to the next timer, so the counts are exact and no test
depends on how busy the machine is."""

import asyncio
import random

import pytest
from _virtual_clock import VirtualClockLoop

from rollbook.lab.workload.scheduler import IDLE_POLL_SECONDS, OpenLoop


def now() -> float:
    return asyncio.get_running_loop().time()


def run_loop(seconds: float, rate, handle, **kwargs) -> tuple[OpenLoop, list[float]]:
    """Run an OpenLoop from virtual time 0 until `seconds`; returns it and the scheduled
    times of overloads."""
    overloads: list[float] = []

    async def main() -> OpenLoop:
        stop = asyncio.Event()
        loop = OpenLoop(rate, handle, overloads.append, clock=now, **kwargs)
        asyncio.get_running_loop().call_later(seconds, stop.set)
        await loop.run(stop)
        return loop

    with asyncio.Runner(loop_factory=VirtualClockLoop) as runner:
        return runner.run(main()), overloads


def recorder():
    calls: list[tuple[float, float]] = []  # (scheduled_at, started_at)

    async def handle(scheduled_at: float) -> None:
        calls.append((scheduled_at, now()))

    return calls, handle


def grid(rate: float, count: int, first: float | None = None) -> list[float]:
    """`count` arrivals `1/rate` apart, the first at `first` (default one gap after 0)."""
    first = 1 / rate if first is None else first
    return [first + i / rate for i in range(count)]


def test_fixed_schedule_arrives_at_the_configured_rate():
    calls, handle = recorder()
    run_loop(1.005, lambda: 100, handle, poisson=False)
    assert [c[0] for c in calls] == pytest.approx(grid(100, 100), abs=1e-9)
    assert [c[1] for c in calls] == pytest.approx(grid(100, 100), abs=1e-9)  # on time


def test_poisson_arrivals_follow_the_drawn_gaps():
    calls, handle = recorder()
    run_loop(1.0, lambda: 300, handle, poisson=True, rng=random.Random(5))
    expected_rng, expected = random.Random(5), [0.0]
    while (t := expected[-1] + expected_rng.expovariate(300)) < 1.0:
        expected.append(t)
    assert [c[0] for c in calls] == pytest.approx(expected[1:], abs=1e-9)
    assert 240 <= len(calls) <= 360  # 300/s, Poisson spread


def test_slow_requests_do_not_slow_arrivals():
    calls, _ = recorder()

    async def slow(scheduled_at: float) -> None:
        calls.append((scheduled_at, now()))
        await asyncio.sleep(0.3)

    loop, overloads = run_loop(0.505, lambda: 100, slow, poisson=False)
    assert [c[1] for c in calls] == pytest.approx(grid(100, 50), abs=1e-9) and not overloads
    assert not loop.in_flight  # run() waited for them


def test_latency_counts_from_scheduled_start_through_a_stall():
    """A stalled event loop delays starts; the scheduled times stay on the grid, so
    latency measured from them includes the stall, and no arrival is skipped."""
    calls, record = recorder()

    async def handle(scheduled_at: float) -> None:
        record_started = len(calls)
        await record(scheduled_at)
        if record_started == 20:
            asyncio.get_running_loop().stall(0.3)  # block the event loop

    run_loop(1.005, lambda: 100, handle, poisson=False)
    assert [c[0] for c in calls] == pytest.approx(grid(100, 100), abs=1e-9)
    delays = [started - scheduled for scheduled, started in calls]
    # the 21st request stalls the loop from 0.21 s to 0.51 s: the 22nd starts 0.29 s late
    assert max(delays) == pytest.approx(0.29, abs=1e-9)
    assert delays[:21] == pytest.approx([0] * 21, abs=1e-9)


def test_arrivals_over_the_in_flight_bound_are_reported_not_dropped():
    started: list[float] = []

    async def stuck(scheduled_at: float) -> None:
        started.append(scheduled_at)
        await asyncio.sleep(0.5)

    loop, overloads = run_loop(0.305, lambda: 100, stuck, poisson=False, max_in_flight=5)
    assert started == pytest.approx(grid(100, 5), abs=1e-9)
    assert overloads == pytest.approx(grid(100, 25, first=0.06), abs=1e-9)


def test_rate_is_read_per_arrival():
    calls, handle = recorder()
    run_loop(1.005, lambda: 0 if now() < 0.5 else 100, handle, poisson=False)
    # a zero rate is re-read every IDLE_POLL_SECONDS: arrivals resume within one poll
    first = calls[0][0]
    assert 0.5 + 0.01 <= first <= 0.5 + IDLE_POLL_SECONDS + 0.01
    assert [c[0] for c in calls] == pytest.approx(grid(100, round((1.0 - first) * 100) + 1, first))
