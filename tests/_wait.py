"""Waiting in tests: poll a condition until a deadline instead of sleeping and hoping, so a
loaded machine makes a test slower, not red. A timeout fails with what was awaited."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def eventually(probe: Callable[[], T], timeout: float, what: str, interval: float = 0.2) -> T:
    """`probe()`'s first truthy value, polled every `interval` s; fails after `timeout` s
    naming `what` and the last value seen."""
    deadline = time.monotonic() + timeout
    while not (value := probe()):
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:g} s for {what}; last seen: {value!r}")
        time.sleep(interval)
    return value


def steady(read: Callable[[], T], hold: float, timeout: float, what: str) -> T:
    """`read()`'s value once it has not changed for `hold` s (e.g. counters once nothing is
    in flight); fails after `timeout` s naming `what`."""
    last, since = read(), time.monotonic()

    def held() -> bool:
        nonlocal last, since
        now = read()
        if now != last:
            last, since = now, time.monotonic()
        return time.monotonic() - since >= hold

    try:
        eventually(held, timeout, f"{what} to hold still for {hold:g} s")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last read: {last!r}") from None
    return last
