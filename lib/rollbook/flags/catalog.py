"""The known feature flags: names, kinds, defaults and value validation."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from rollbook.errors import InputError

ENDPOINTS = ("history", "send", "conversations")
READ_ENDPOINTS = ("history", "conversations")


class FlagError(InputError, ValueError):
    """An unknown flag name or a value out of range (the message names which)."""


@dataclass(frozen=True)
class Flag:
    """One known flag. `default` is what an application uses while the flag is absent
    (None: the application's own configured value, e.g. a workload rate)."""

    name: str
    kind: str  # "percent" | "number"
    default: float | None
    help: str
    maximum: float | None = None

    def validate(self, value: Any) -> float:
        """The value as a number, or FlagError naming the flag and the allowed range."""
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            raise FlagError(f"{self.name}: expected a number, got {value!r}")
        high = 100.0 if self.kind == "percent" else self.maximum
        if value < 0 or (high is not None and value > high):
            allowed = f"0..{high:g}" if high is not None else ">= 0"
            raise FlagError(f"{self.name}: {value!r} is out of range ({allowed})")
        return value


def _catalog() -> dict[str, Flag]:
    flags = [
        Flag("replica.max_lag_seconds", "number", 5.0, "replica lag that opens the breaker"),
    ]
    for endpoint in ENDPOINTS:
        flags.append(
            Flag(f"pgbouncer.{endpoint}", "percent", 0.0, "percent of requests via PgBouncer")
        )
        flags.append(
            Flag(f"workload.rate.{endpoint}", "number", None, "reference workload requests/s")
        )
        flags.append(
            Flag(
                f"fault.{endpoint}.latency_ms",
                "number",
                0.0,
                "latency added to canary requests (tests)",
                maximum=60_000,
            )
        )
        flags.append(
            Flag(f"fault.{endpoint}.error_percent", "percent", 0.0, "canary requests that fail")
        )
    flags.append(
        Flag(
            "fault.cache.wrong_value_percent",
            "percent",
            0.0,
            "cache fills that store a stale page, its newest row missing (tests)",
        )
    )
    flags.append(
        Flag(
            "fault.cache.skip_invalidation_percent",
            "percent",
            0.0,
            "sends that leave the cache as it was, no invalidation (tests)",
        )
    )
    for endpoint in READ_ENDPOINTS:
        flags.append(Flag(f"cache.{endpoint}", "percent", 0.0, "percent of reads using Redis"))
        flags.append(Flag(f"replica.{endpoint}", "percent", 0.0, "percent of reads on replica"))
    return {flag.name: flag for flag in sorted(flags, key=lambda f: f.name)}


KNOWN_FLAGS: dict[str, Flag] = _catalog()


def known_flag(name: str) -> Flag:
    """The flag called `name`, or FlagError listing the known names."""
    try:
        return KNOWN_FLAGS[name]
    except KeyError:
        raise FlagError(f"unknown flag {name!r}; known flags: {', '.join(KNOWN_FLAGS)}") from None


def validate_flag(name: str, value: Any) -> float:
    """Check a flag name and value; returns the value to store."""
    return known_flag(name).validate(value)
