"""One worker process: open its virtual clients and the request sources, wait at the start
barrier, run its share of the schedule, report tallies every interval, close everything.

SIGINT is ignored here (Ctrl-C reaches the whole process group; the parent stops the
run); SIGTERM, the parent's stop event or the parent's death stop the load.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import random
import resource
import signal
import time
import traceback
from multiprocessing.queues import Queue
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event

from rollbook.errors import RollbookError
from rollbook.load.clients import Clients
from rollbook.load.engine import Engine
from rollbook.load.messages import Done, Failed, Ready, Report
from rollbook.load.result import WorkerReport
from rollbook.load.schedule import arrivals
from rollbook.load.sources import Perform
from rollbook.load.spec import LoadSpec
from rollbook.load.tally import Recorder

WATCH_SECONDS = 0.02  # how often the stop event and the parent are checked
SPARE_FILES = 64  # file descriptors beyond one per client (sources' pools, pipes, logs)


class FileLimitError(RollbookError, OSError):
    """A worker cannot hold its client connections: too few file descriptors allowed."""


def allow_files(needed: int) -> None:
    """Raise this process's soft open-files limit to `needed` (at most the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            raise FileLimitError(
                f"{needed} open files needed, the hard limit is {hard}: raise it "
                "(ulimit -Hn, limits.conf) or spread the clients over more workers"
            )
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def main(
    spec: LoadSpec,
    index: int,
    channel: Queue,
    go: Event,
    stop: Event,
    start_at: Synchronized,
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    # a cancelled request is counted unfinished; psycopg's warning for each is noise
    logging.getLogger("psycopg").setLevel(logging.ERROR)
    try:
        asyncio.run(_work(spec, index, channel, go, stop, start_at))
    except BaseException:
        channel.put(Failed(index, traceback.format_exc()))


async def _work(
    spec: LoadSpec, index: int, channel: Queue, go: Event, stop: Event, start_at: Synchronized
) -> None:
    first, count = spec.clients_of(index)
    allow_files(count + SPARE_FILES)
    rng = random.Random(None if spec.seed is None else f"{spec.seed}:{index}")
    clients = Clients(spec.target, count, first)
    parent = os.getppid()
    halt = asyncio.Event()
    watcher = asyncio.create_task(_watch(stop, parent, halt))
    cpu = wall = 0.0
    try:
        await clients.open()
        async with contextlib.AsyncExitStack() as stack:
            performs: dict[str, Perform] = {}
            for source in spec.sources:
                perform = await stack.enter_async_context(source.open(spec.target, rng))
                performs.update(dict.fromkeys(source.names(), perform))
            channel.put(Ready(index))
            while not go.is_set() and not halt.is_set():
                await asyncio.sleep(WATCH_SECONDS / 2)
            if halt.is_set():
                return
            start, cpu_start = start_at.value, time.process_time()
            recorder = Recorder(spec.generator.late_after)
            engine = Engine(
                arrivals(
                    spec.steps,
                    poisson=spec.poisson,
                    rng=rng,
                    share=1 / spec.worker_count,
                    phase=index / spec.worker_count,
                ),
                clients,
                lambda name, client: performs[name](name, client),
                recorder,
                start_at=start,
                request_timeout=spec.request_timeout,
            )
            reporter = asyncio.create_task(
                _report(channel, index, recorder, start, spec.report_interval)
            )
            try:
                await engine.run(halt)
            finally:
                reporter.cancel()
                now = asyncio.get_running_loop().time()
                last = max(0, math.floor((now - start) / spec.report_interval))
                channel.put(Report(index, last, recorder.take()))
                cpu, wall = time.process_time() - cpu_start, now - start
    finally:
        watcher.cancel()
        await clients.close()
    channel.put(Done(WorkerReport(index, count, cpu, wall, clients.reconnects)))


async def _watch(stop: Event, parent: int, halt: asyncio.Event) -> None:
    """Set `halt` when the run is stopped or the parent is gone."""
    while not (stop.is_set() or os.getppid() != parent):
        await asyncio.sleep(WATCH_SECONDS)
    halt.set()


async def _report(
    channel: Queue, index: int, recorder: Recorder, start: float, interval: float
) -> None:
    """Send the tallies at the end of every interval after `start`."""
    loop = asyncio.get_running_loop()
    k = 0
    while True:
        await asyncio.sleep(max(0.0, start + (k + 1) * interval - loop.time()))
        channel.put(Report(index, k, recorder.take()))
        k += 1
