"""Which rollout paths a request takes, and how it is labelled canary or baseline."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, fields

from rollbook.flags import READ_ENDPOINTS

# The request metrics' variant labels: `variant` (any rollout flag selected the request)
# and one per rollout family, so a ramp of `cache.*` judges against requests that its own
# flag did not select even while `pgbouncer.*` is at 100 %.
VARIANT_LABELS = ("variant", "pgbouncer", "cache", "replica")


def selected(percent: float, rng: random.Random) -> bool:
    """Random selection per request: True for `percent` % of calls."""
    return percent > 0 and (percent >= 100 or rng.random() * 100 < percent)


def _variant(canary: bool) -> str:
    return "canary" if canary else "baseline"


@dataclass(frozen=True)
class Plan:
    """The paths chosen for one request; canary when any percentage flag selected it."""

    pgbouncer: bool = False
    cache: bool = False
    replica: bool = False

    @property
    def variant(self) -> str:
        return _variant(self.pgbouncer or self.cache or self.replica)

    def labels(self) -> tuple[str, ...]:
        """Values of `VARIANT_LABELS`, in order."""
        return (
            self.variant,
            _variant(self.pgbouncer),
            _variant(self.cache),
            _variant(self.replica),
        )


def possible_plans(endpoint: str) -> list[Plan]:
    """Every plan a request to `endpoint` can draw (reads can use all three paths)."""
    families = [f.name for f in fields(Plan)] if endpoint in READ_ENDPOINTS else ["pgbouncer"]
    return [
        Plan(**dict(zip(families, chosen, strict=True)))
        for chosen in itertools.product((False, True), repeat=len(families))
    ]


def plan_request(endpoint: str, flags: dict[str, float], rng: random.Random) -> Plan:
    """Draw this request's paths from the endpoint's percentage flags (absent flag: 0 %)."""
    reads = endpoint in READ_ENDPOINTS
    return Plan(
        pgbouncer=selected(flags.get(f"pgbouncer.{endpoint}", 0), rng),
        cache=reads and selected(flags.get(f"cache.{endpoint}", 0), rng),
        replica=reads and selected(flags.get(f"replica.{endpoint}", 0), rng),
    )
