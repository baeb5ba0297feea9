"""Error logging that stays readable during an outage: one line per kind per interval."""

from __future__ import annotations

import logging
import time


class ThrottledLog:
    """Log the first error of each kind, then at most one summary per `interval` seconds."""

    def __init__(self, logger: logging.Logger, interval: float = 10.0) -> None:
        self.logger = logger
        self.interval = interval
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def error(self, kind: str, exc: BaseException) -> None:
        now = time.monotonic()
        if now - self._last.get(kind, -self.interval) < self.interval:
            self._suppressed[kind] = self._suppressed.get(kind, 0) + 1
            return
        more = self._suppressed.pop(kind, 0)
        suffix = f" (+{more} more since last report)" if more else ""
        lines = str(exc).strip().splitlines()
        detail = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
        self.logger.warning("%s: %s%s", kind, detail, suffix)
        self._last[kind] = now
