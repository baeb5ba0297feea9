"""Time windows for Prometheus queries: absolute, `last 30m`, or relative to a run."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from rollbook.duration import parse_duration
from rollbook.errors import InputError

_LAST = re.compile(r"^\s*last\s+(.+?)\s*$", re.IGNORECASE)


class WindowError(InputError, ValueError):
    """A time window that cannot be understood (a bad duration is a `DurationError`)."""


def promql_duration(delta: timedelta) -> str:
    """A timedelta as a PromQL range, e.g. `[300s]` content `300s` (whole seconds, >= 1s)."""
    return f"{max(1, round(delta.total_seconds()))}s"


def human_duration(delta: timedelta) -> str:
    """`1h30m`, `17m4s`, `45s`: a duration for a reader, to the second."""
    seconds = max(0, round(delta.total_seconds()))
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Window:
    """A closed time interval [start, end] in UTC."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", _aware(self.start))
        object.__setattr__(self, "end", _aware(self.end))
        if self.end <= self.start:
            raise WindowError(f"window ends ({self.end}) before it starts ({self.start})")

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    def __str__(self) -> str:
        return f"{self.start:%Y-%m-%d %H:%M:%S} – {self.end:%Y-%m-%d %H:%M:%S} UTC"


def last(duration: str | timedelta, *, now: datetime | None = None) -> Window:
    """The window that ends now and lasts `duration`."""
    end = _aware(now) if now else datetime.now(UTC)
    return Window(end - parse_duration(duration), end)


def around_run(
    run_start: datetime, run_end: datetime, where: str, duration: str | timedelta | None = None
) -> Window:
    """A window placed against a run: `before` / `after` it (lasting `duration`), or `during`.

    `during` covers the run itself; with a duration it keeps only the run's last `duration`.
    """
    run = Window(run_start, run_end)
    span = parse_duration(duration) if duration is not None else None
    if where == "during":
        return run if span is None else Window(max(run.start, run.end - span), run.end)
    if span is None:
        raise WindowError(f"a window {where!r} a run needs a duration")
    if where == "before":
        return Window(run.start - span, run.start)
    if where == "after":
        return Window(run.end, run.end + span)
    raise WindowError(f"unknown position {where!r}: use before, after or during")


def as_window(spec: Window | str | tuple[datetime, datetime]) -> Window:
    """Accept a Window, a `(start, end)` pair, `last 30m` or `START/END` (ISO 8601)."""
    if isinstance(spec, Window):
        return spec
    if isinstance(spec, tuple):
        return Window(*spec)
    if match := _LAST.match(spec):
        return last(match.group(1))
    if "/" in spec:
        start, end = spec.split("/", 1)
        try:
            return Window(datetime.fromisoformat(start), datetime.fromisoformat(end))
        except ValueError:
            pass
    raise WindowError(f"not a time window: {spec!r} (use `last 30m` or `START/END` in ISO 8601)")
