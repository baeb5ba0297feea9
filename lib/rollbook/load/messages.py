"""What workers tell the parent, through one queue."""

from __future__ import annotations

from dataclasses import dataclass

from rollbook.load.result import WorkerReport
from rollbook.load.tally import Key, Tally


@dataclass(frozen=True)
class Ready:
    """Clients connected and sources open: waiting at the start barrier."""

    worker: int


@dataclass(frozen=True)
class Failed:
    worker: int
    error: str


@dataclass(frozen=True)
class Report:
    """The tallies of report interval `interval` (counted from the common start)."""

    worker: int
    interval: int
    tallies: dict[Key, Tally]


@dataclass(frozen=True)
class Done:
    """The worker stopped and closed every client connection."""

    report: WorkerReport
