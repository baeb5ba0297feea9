"""The open loop of one worker: dispatch each arrival at its scheduled time, run it on a
free virtual client, and measure its latency from the scheduled time (no coordinated
omission: a stalled target or generator shows up as latency, not as fewer requests)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

from rollbook.load.clients import Clients
from rollbook.load.schedule import Arrival
from rollbook.load.sources import Perform
from rollbook.load.tally import Recorder

STOP_POLL_SECONDS = 0.05  # a wait longer than this watches the stop event


class Engine:
    """Dispatches `arrivals` (offsets from `start_at`, on the event loop's clock) until they
    run out or `stop` is set. A request that has not finished `request_timeout` seconds
    after its scheduled time fails ("timeout", or "no free client" if it never started)."""

    def __init__(
        self,
        arrivals: Iterable[Arrival],
        clients: Clients,
        perform: Perform,
        recorder: Recorder,
        *,
        start_at: float,
        request_timeout: float,
    ) -> None:
        self.arrivals = arrivals
        self.clients = clients
        self.perform = perform
        self.recorder = recorder
        self.start_at = start_at
        self.request_timeout = request_timeout
        self.in_flight: set[asyncio.Task] = set()

    async def run(self, stop: asyncio.Event) -> None:
        """Dispatch, then wait for the requests in flight; on `stop`, cancel them."""
        loop = asyncio.get_running_loop()
        try:
            for arrival in self.arrivals:
                due = self.start_at + arrival.at
                delay = due - loop.time()
                if delay > STOP_POLL_SECONDS:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), delay)
                else:
                    await asyncio.sleep(max(delay, 0))  # let requests run even when behind
                if stop.is_set():
                    return
                self._dispatch(arrival, due, loop.time() - due)
            while self.in_flight and not stop.is_set():
                drained = asyncio.ensure_future(asyncio.wait(self.in_flight))
                stopped = asyncio.ensure_future(stop.wait())
                await asyncio.wait((drained, stopped), return_when=asyncio.FIRST_COMPLETED)
                for waiter in (drained, stopped):
                    waiter.cancel()
        finally:
            await self.cancel()

    async def cancel(self) -> None:
        """Cancel the requests in flight (each is counted unfinished)."""
        for task in self.in_flight:
            task.cancel()
        await asyncio.gather(*self.in_flight, return_exceptions=True)

    def _dispatch(self, arrival: Arrival, due: float, lag: float) -> None:
        lag = max(lag, 0.0)
        self.recorder.dispatched(arrival, lag)
        task = asyncio.get_running_loop().create_task(self._request(arrival, due, lag))
        self.in_flight.add(task)
        task.add_done_callback(self.in_flight.discard)

    async def _request(self, arrival: Arrival, due: float, lag: float) -> None:
        loop = asyncio.get_running_loop()
        client = None
        try:
            async with asyncio.timeout_at(due + self.request_timeout):
                client = await self.clients.acquire()
                self.recorder.started(arrival, loop.time() - due, lag)
                await self.perform(arrival.name, client)
        except TimeoutError:
            self.recorder.failed(arrival, "timeout" if client else "no free client")
        except asyncio.CancelledError:
            self.recorder.cancelled(arrival)
            raise
        except Exception as exc:  # the target's failure is a measurement, never a crash
            self.recorder.failed(arrival, type(exc).__name__)
        else:
            self.recorder.finished(arrival, loop.time() - due)
        finally:
            if client is not None:
                self.clients.release(client)
