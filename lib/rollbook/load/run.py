"""Run a load test: start the worker processes, hold them at a start barrier until every
one has its clients connected, collect their tallies, stop on an abort limit, SIGTERM or
Ctrl-C within `STOP_WITHIN_SECONDS`, and return the typed result."""

from __future__ import annotations

import contextlib
import multiprocessing
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterator

from rollbook.errors import RollbookError
from rollbook.load import worker
from rollbook.load.collect import Collector
from rollbook.load.messages import Done, Failed, Ready, Report
from rollbook.load.result import IntervalRow, LoadResult, RunEnd
from rollbook.load.spec import LoadSpec

STOP_WITHIN_SECONDS = 2.0  # from a stop to every worker gone (a straggler is killed)
KILL_AFTER_SECONDS = 1.5  # a worker still running this long after the stop is killed
START_DELAY_SECONDS = 0.05  # from the barrier to the common start
POLL_SECONDS = 0.05
DRAIN_GRACE_SECONDS = 5.0  # past the schedule and the last request's timeout


class LoadError(RollbookError):
    """A load worker failed (could not connect, a source could not open, a crash)."""


class _Stop:
    """Why and when the run was told to stop (first reason wins)."""

    def __init__(self, event) -> None:
        self.event = event
        self.end: RunEnd | None = None
        self.reason = ""
        self.at: float | None = None

    def request(self, end: RunEnd, reason: str) -> None:
        if self.at is None:
            self.end, self.reason, self.at = end, reason, time.monotonic()
        self.event.set()


@contextlib.contextmanager
def _stop_on_signals(stop: _Stop) -> Iterator[None]:
    """SIGTERM and SIGINT stop the run (in the main thread; elsewhere the caller's own
    handlers stay)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signals = (signal.SIGTERM, signal.SIGINT)
    previous = {s: signal.getsignal(s) for s in signals}

    def interrupt(signum: int, _frame) -> None:
        stop.request(RunEnd.INTERRUPTED, f"stopped by {signal.Signals(signum).name}")

    for s in signals:
        signal.signal(s, interrupt)
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def run_load(spec: LoadSpec, progress: Callable[[IntervalRow], None] | None = None) -> LoadResult:
    """Run `spec`; `progress` gets each report interval once every worker sent it."""
    ctx = multiprocessing.get_context("spawn")
    channel, go, start_at = ctx.Queue(), ctx.Event(), ctx.Value("d", 0.0)
    stop = _Stop(ctx.Event())
    processes = [
        ctx.Process(
            target=worker.main,
            args=(spec, i, channel, go, stop.event, start_at),
            name=f"rollbook-load-{i}",
            daemon=True,
        )
        for i in range(spec.worker_count)
    ]
    collector = Collector(spec)
    with _stop_on_signals(stop):
        try:
            for process in processes:
                process.start()
            _barrier(channel, processes, spec.setup_timeout, stop)
            start = time.monotonic() + START_DELAY_SECONDS
            start_at.value = start
            go.set()
            _collect(channel, processes, collector, spec, start, stop, progress)
        finally:
            stop.event.set()
            _reap(processes, stop.at or time.monotonic())
    end = stop.end or RunEnd.COMPLETED
    elapsed = spec.duration if stop.at is None else max(0.0, stop.at - start)
    stop_seconds = None if stop.at is None else time.monotonic() - stop.at
    reason = stop.reason or "the schedule ran to its end"
    return collector.result(end, reason, min(elapsed, spec.duration), stop_seconds)


def _barrier(channel, processes, timeout: float, stop: _Stop) -> None:
    """Wait until every worker is ready (clients connected); a failure ends the run."""
    ready: set[int] = set()
    deadline = time.monotonic() + timeout
    while len(ready) < len(processes):
        if stop.at is not None:
            raise LoadError(f"stopped before the start ({stop.reason})")
        if time.monotonic() > deadline:
            raise LoadError(f"{len(processes) - len(ready)} workers not ready after {timeout:g} s")
        message = _next(channel, processes)
        if isinstance(message, Ready):
            ready.add(message.worker)
        elif isinstance(message, Failed):
            raise LoadError(f"load worker {message.worker} failed:\n{message.error}")


def _collect(channel, processes, collector, spec, start, stop, progress) -> None:
    done: set[int] = set()
    deadline = start + spec.duration + spec.request_timeout + DRAIN_GRACE_SECONDS
    while len(done) < len(processes):
        now = time.monotonic()
        if stop.at is not None and now - stop.at > KILL_AFTER_SECONDS:
            return  # stragglers are killed by _reap
        if now > deadline:
            stop.request(RunEnd.INTERRUPTED, "the workers did not finish in time")
        message = _next(channel, processes)
        if isinstance(message, Report):
            row = collector.add(message.worker, message.interval, message.tallies)
            if row is not None and progress is not None:
                progress(row)
            if stop.at is None and (why := collector.watch.crossed()):
                stop.request(RunEnd.ABORTED, why)
        elif isinstance(message, Done):
            collector.workers.append(message.report)
            done.add(message.report.worker)
        elif isinstance(message, Failed):
            stop.request(RunEnd.INTERRUPTED, f"worker {message.worker} failed")
            raise LoadError(f"load worker {message.worker} failed:\n{message.error}")


def _next(channel, processes):
    """The next message, or None after a short wait; a worker that died silently fails."""
    try:
        return channel.get(timeout=POLL_SECONDS)
    except queue.Empty:
        dead = [p.name for p in processes if p.exitcode not in (None, 0)]
        if dead:
            raise LoadError(f"load workers died: {', '.join(dead)}") from None
        return None


def _reap(processes, stopped_at: float) -> None:
    """Join the workers; kill any still running `KILL_AFTER_SECONDS` after the stop (its
    connections close with it)."""
    for process in processes:
        process.join(max(0.0, stopped_at + KILL_AFTER_SECONDS - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join()
