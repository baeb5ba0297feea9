"""What happened to requests: counts and HDR histograms per step, warm-up or judged, and
request type. A worker records into a `Recorder`; tallies travel to the parent encoded
and add up exactly."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from hdrh.histogram import HdrHistogram

from rollbook.load.histogram import decode, encode, new_histogram, record
from rollbook.load.schedule import Arrival

# (step index, judged (not warm-up), request type)
Key = tuple[int, bool, str]


@dataclass
class Tally:
    """Requests of one kind. `scheduled`: dispatched by the generator; each then ends
    `ok`, in `errors` (by reason) or `unfinished` (a stop cancelled it). `late_dispatch`:
    the generator dispatched it late (behind schedule); `late_client`: it waited for a
    free virtual client. `latency` (ok requests) counts from the scheduled start; `lag` is
    how late the generator dispatched each request."""

    scheduled: int = 0
    ok: int = 0
    unfinished: int = 0
    late_dispatch: int = 0
    late_client: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    latency: HdrHistogram = field(default_factory=new_histogram)
    lag: HdrHistogram = field(default_factory=new_histogram)

    @property
    def failed(self) -> int:
        return sum(self.errors.values())

    def add(self, other: Tally) -> None:
        for name in ("scheduled", "ok", "unfinished", "late_dispatch", "late_client"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors.update(other.errors)
        self.latency.add(other.latency)
        self.lag.add(other.lag)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "latency": encode(self.latency), "lag": encode(self.lag)}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state, latency=decode(state["latency"]), lag=decode(state["lag"]))


def added(tallies: list[Tally]) -> Tally:
    total = Tally()
    for tally in tallies:
        total.add(tally)
    return total


class Recorder:
    """One worker's tallies since the last `take()`. A request is late when it starts more
    than `late_after` seconds after its scheduled time."""

    def __init__(self, late_after: float) -> None:
        self.late_after = late_after
        self.tallies: dict[Key, Tally] = {}

    def _tally(self, arrival: Arrival) -> Tally:
        key = (arrival.step, arrival.judged, arrival.name)
        tally = self.tallies.get(key)
        if tally is None:
            tally = self.tallies[key] = Tally()
        return tally

    def dispatched(self, arrival: Arrival, lag: float) -> None:
        tally = self._tally(arrival)
        tally.scheduled += 1
        record(tally.lag, lag)
        if lag > self.late_after:
            tally.late_dispatch += 1

    def started(self, arrival: Arrival, delay: float, lag: float) -> None:
        """The request got its client `delay` s after its scheduled time."""
        if delay > self.late_after >= lag:
            self._tally(arrival).late_client += 1

    def finished(self, arrival: Arrival, latency: float) -> None:
        tally = self._tally(arrival)
        tally.ok += 1
        record(tally.latency, latency)

    def failed(self, arrival: Arrival, reason: str) -> None:
        self._tally(arrival).errors[reason] += 1

    def cancelled(self, arrival: Arrival) -> None:
        self._tally(arrival).unfinished += 1

    def take(self) -> dict[Key, Tally]:
        """The tallies since the last take (recording starts afresh)."""
        taken, self.tallies = self.tallies, {}
        return taken
