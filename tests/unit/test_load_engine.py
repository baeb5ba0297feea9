"""The load generator's open loop on a virtual clock (exact times, no dependence on the
machine): latency counts from each request's scheduled time, so a stalled target shows in
every request scheduled during the stall; late starts are counted and attributed; a
generator kept behind schedule makes its step inconclusive; a stop cancels what is in
flight and closes every client connection."""

from __future__ import annotations

import asyncio
import pickle
import random
import resource

import pytest
from _fake_load import FakeService, FakeTarget
from _virtual_clock import VirtualClockLoop

from rollbook.load.clients import Clients
from rollbook.load.collect import Collector
from rollbook.load.engine import Engine
from rollbook.load.judge import Judgement, Objective, judge
from rollbook.load.result import RunEnd
from rollbook.load.schedule import Step, arrivals
from rollbook.load.spec import LoadSpec
from rollbook.load.tally import Recorder, Tally
from rollbook.load.worker import FileLimitError, allow_files

LATE_AFTER = 0.005


def run_engine(steps, perform, *, clients=4, stop_at=None, request_timeout=5.0):
    """Run the steps' fixed schedule from virtual time 0; (tallies by step/judged/name,
    the client connections)."""
    recorder = Recorder(LATE_AFTER)

    async def main():
        pool = Clients(FakeTarget(), clients)
        await pool.open()
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        if stop_at is not None:
            loop.call_later(stop_at, stop.set)
        engine = Engine(
            arrivals(steps, poisson=False, rng=random.Random(1)),
            pool,
            perform,
            recorder,
            start_at=loop.time(),
            request_timeout=request_timeout,
        )
        await engine.run(stop)
        await pool.close()
        return [c.conn for c in pool.clients]

    with asyncio.Runner(loop_factory=VirtualClockLoop) as runner:
        conns = runner.run(main())
    return recorder.take(), conns


def now() -> float:
    return asyncio.get_running_loop().time()


def at_least(histogram):
    """`count(seconds)`: how many recorded values are >= `seconds` (HDR's 3 significant
    digits: 10 us at 10 ms)."""
    recorded = [(i.value_iterated_to, i.count_at_value_iterated_to)
                for i in histogram.get_recorded_iterator()]  # fmt: skip
    return lambda seconds: sum(n for value, n in recorded if value >= seconds * 1e6)


def stalling(start: float, end: float, service: float = 0.002):
    """A target that answers in `service` s, except that nothing answers before `end` once
    it stalled at `start`."""

    async def perform(name, client):
        if start <= now() < end:
            await asyncio.sleep(end - now())
        await asyncio.sleep(service)

    return perform


def test_a_stalled_target_shows_in_every_request_scheduled_during_the_stall():
    steps = (Step({"fake": 100}, duration=3.0),)
    tallies, _ = run_engine(steps, stalling(1.0, 2.0), clients=4)
    tally = tallies[(0, True, "fake")]
    assert tally.scheduled == tally.ok == 300
    # requests are due at 1.00, 1.01, ..., 1.99: the one due at 2 - i/100 s takes at least
    # i/100 s, so at least 101 - j requests took >= j/100 s (measured from the actual
    # start instead, only the 4 on a client when the stall began would)
    count = at_least(tally.latency)
    for j in range(1, 101):
        assert count(j / 100) >= 101 - j, j
    assert count(0.5) >= 51
    # they started late because every client was busy, not because the generator was
    assert tally.late_dispatch == 0
    assert tally.late_client >= 95


def test_latency_and_start_delay_without_stall_are_the_service_time():
    steps = (Step({"fake": 100}, duration=1.0),)
    tallies, _ = run_engine(steps, stalling(9, 9, service=0.002), clients=4)
    tally = tallies[(0, True, "fake")]
    assert tally.ok == 100 and tally.late_client == tally.late_dispatch == 0
    assert tally.latency.get_max_value() == pytest.approx(2000, abs=2)  # microseconds


def behind_schedule(block: float):
    """A generator without CPU to spare: each request blocks the event loop."""

    async def perform(name, client):
        asyncio.get_running_loop().stall(block)
        await asyncio.sleep(0.001)

    return perform


def spec_for(steps) -> LoadSpec:
    return LoadSpec(FakeTarget(), (FakeService(),), steps, clients=4, workers=1)


def test_a_generator_kept_behind_schedule_is_inconclusive_never_a_failure_of_the_target():
    steps = (Step({"fake": 100}, duration=1.0),)
    tallies, _ = run_engine(steps, behind_schedule(0.02), clients=4)
    tally = tallies[(0, True, "fake")]
    assert tally.late_dispatch > 0.5 * tally.scheduled
    collector = Collector(spec_for(steps))
    collector.add(0, 0, tallies)
    (step,) = collector.result(RunEnd.COMPLETED, "done", 1.0, None).steps
    assert step.inconclusive and "behind schedule" in step.inconclusive[0]
    # the latencies are far past any objective, yet the target is not failed
    verdict = judge(step, Objective(p95_seconds=0.010))
    assert verdict.judgement is Judgement.INCONCLUSIVE


def test_requests_that_cannot_get_a_client_in_time_fail_as_such():
    steps = (Step({"fake": 100}, duration=0.5),)
    tallies, _ = run_engine(steps, stalling(0.0, 10.0), clients=2, request_timeout=0.2)
    tally = tallies[(0, True, "fake")]
    # a client frees (reconnected) when its request times out; the others never start
    assert tally.errors["timeout"] > 0 and tally.errors["no free client"] > 0
    assert tally.failed == tally.scheduled == 50 and tally.ok == 0


def test_warm_up_requests_are_tallied_apart_from_the_judged_ones():
    steps = (Step({"fake": 100}, duration=1.0, warmup=0.3), Step({"fake": 50}, duration=1.0))
    tallies, _ = run_engine(steps, stalling(9, 9))
    counts = {key: t.scheduled for key, t in tallies.items()}
    assert counts == {(0, False, "fake"): 30, (0, True, "fake"): 70, (1, True, "fake"): 50}


def test_a_stop_cancels_requests_in_flight_and_closes_every_connection():
    async def hang(name, client):
        client.conn.busy = True
        await asyncio.Event().wait()

    steps = (Step({"fake": 100}, duration=10.0),)
    tallies, conns = run_engine(steps, hang, clients=4, stop_at=1.0)
    tally = tallies[(0, True, "fake")]
    assert tally.scheduled == 100 and tally.ok == 0
    assert tally.unfinished == 100  # 4 on a client, the rest waiting for one
    assert conns and all(conn.closed for conn in conns)


def test_a_client_whose_request_was_cancelled_reconnects_before_serving_again():
    async def slow_first(name, client):
        client.conn.busy = True
        await asyncio.sleep(0.5 if now() < 0.1 else 0.001)
        client.conn.busy = False

    steps = (Step({"fake": 20}, duration=1.0),)
    tallies, conns = run_engine(steps, slow_first, clients=1, request_timeout=0.2)
    tally = tallies[(0, True, "fake")]
    assert tally.errors["timeout"] == 1  # due at 0 s, cancelled at 0.2 s
    assert tally.ok == 19 and all(conn.closed for conn in conns)


def test_tallies_pickle_through_their_hdr_encoding():
    tally = Tally(scheduled=3, ok=2)
    tally.latency.record_value(1500)
    tally.latency.record_value(250_000)
    copy = pickle.loads(pickle.dumps(tally))
    assert copy.scheduled == 3 and copy.latency.get_total_count() == 2
    assert copy.latency.get_max_value() == tally.latency.get_max_value()


def test_a_worker_raises_its_open_files_limit_up_to_the_hard_one():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
        allow_files(300)
        assert resource.getrlimit(resource.RLIMIT_NOFILE) == (300, hard)
        if hard != resource.RLIM_INFINITY:
            with pytest.raises(FileLimitError, match="hard limit"):
                allow_files(hard + 1)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
