"""Open-loop arrivals: requests start on a schedule, never waiting for earlier ones.

Each request gets the time it was *scheduled* for; latency is measured from it, so a
stalled service or event loop shows up as latency instead of fewer requests
(no coordinated omission).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)

IDLE_POLL_SECONDS = 0.2  # how often a zero rate is re-read


class OpenLoop:
    """Start `handle(scheduled_at)` at `rate()` requests/s until `stop` is set.

    `poisson` draws exponential gaps (Poisson arrivals), otherwise the gaps are fixed.
    At most `max_in_flight` requests run at once; an arrival over the bound calls
    `overloaded(scheduled_at)` instead of starting (an error outcome, not a silent drop).
    """

    def __init__(
        self,
        rate: Callable[[], float],
        handle: Callable[[float], Coroutine[Any, Any, None]],
        overloaded: Callable[[float], None],
        *,
        max_in_flight: int = 200,
        poisson: bool = True,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.handle = handle
        self.overloaded = overloaded
        self.max_in_flight = max_in_flight
        self.poisson = poisson
        self.rng = rng or random.Random()
        self.clock = clock
        self.in_flight: set[asyncio.Task[None]] = set()

    def _gap(self, rate: float) -> float:
        return self.rng.expovariate(rate) if self.poisson else 1.0 / rate

    async def run(self, stop: asyncio.Event) -> None:
        """Generate arrivals until `stop` is set; then wait for the requests in flight."""
        next_at = self.clock()
        while not stop.is_set():
            rate = self.rate()
            if rate <= 0:
                await wait_or_stop(stop, IDLE_POLL_SECONDS)
                next_at = self.clock()
                continue
            next_at += self._gap(rate)
            delay = next_at - self.clock()
            if delay > 0:
                await wait_or_stop(stop, delay)
                if stop.is_set():
                    break
            self._start(next_at)
        if self.in_flight:
            await asyncio.wait(self.in_flight)

    def _start(self, scheduled_at: float) -> None:
        if len(self.in_flight) >= self.max_in_flight:
            self.overloaded(scheduled_at)
            return
        task = asyncio.create_task(self.handle(scheduled_at))
        self.in_flight.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self.in_flight.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("request handler raised", exc_info=task.exception())


async def wait_or_stop(stop: asyncio.Event, seconds: float) -> None:
    """Sleep `seconds`, returning early when `stop` is set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
