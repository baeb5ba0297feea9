"""Which rollout path a request takes, and whether it counts as canary or baseline."""

from __future__ import annotations

import random
from dataclasses import dataclass

from rollbook.flags import READ_ENDPOINTS


def selected(percent: float, rng: random.Random) -> bool:
    """Random selection per request: True for `percent` % of calls."""
    return percent > 0 and (percent >= 100 or rng.random() * 100 < percent)


@dataclass(frozen=True)
class Plan:
    """The paths chosen for one request; canary when any percentage flag selected it."""

    pgbouncer: bool = False
    cache: bool = False
    replica: bool = False

    @property
    def variant(self) -> str:
        return "canary" if (self.pgbouncer or self.cache or self.replica) else "baseline"


def plan_request(endpoint: str, flags: dict[str, float], rng: random.Random) -> Plan:
    """Draw this request's paths from the endpoint's percentage flags (absent flag: 0 %)."""
    reads = endpoint in READ_ENDPOINTS
    return Plan(
        pgbouncer=selected(flags.get(f"pgbouncer.{endpoint}", 0), rng),
        cache=reads and selected(flags.get(f"cache.{endpoint}", 0), rng),
        replica=reads and selected(flags.get(f"replica.{endpoint}", 0), rng),
    )
