"""The one rule for reviewing a window: its chart step, its rate range and its context.

Every review of a window (the incident review, the SLO dashboard) takes its step and rate
range from here, so the same concept over the same window is the same number in both.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from rollbook.prom.client import choose_step
from rollbook.prom.window import Window

# Rates over at least a minute (30 scrapes in the lab), wider when the step is wider.
MIN_RATE_RANGE = timedelta(minutes=1)


def review_step(window: Window) -> timedelta:
    """The step of every series of a review: about a thousand points over the window."""
    return choose_step(window)


def rate_range(step: timedelta) -> timedelta:
    """The range of every rate of a review: one step, and at least `MIN_RATE_RANGE`."""
    return max(step, MIN_RATE_RANGE)


def with_context(window: Window, step: timedelta, *, now: datetime | None = None) -> Window:
    """The window with the same length before and after it (whole steps, so the points
    inside the window are the window's own), the part after it cut at `now`."""
    steps = math.ceil(window.duration / step)
    now = now or datetime.now(UTC)
    end = max(window.end, min(window.end + steps * step, now))
    return Window(window.start - steps * step, end)
