"""The flag values in effect inside the workload, refreshed from one query per second."""

from __future__ import annotations

import logging

from rollbook.flags import ENDPOINTS, KNOWN_FLAGS, FlagError, validate_flag

log = logging.getLogger(__name__)


class FlagView:
    """Known flags as stored, else their defaults; rates default to the configured ones."""

    def __init__(self, default_rates: dict[str, float]) -> None:
        rates = {f"workload.rate.{endpoint}": default_rates[endpoint] for endpoint in ENDPOINTS}
        # Only the rates have no default in the catalog (the workload's configured ones).
        self.defaults: dict[str, float] = {
            name: rates[name] if flag.default is None else flag.default
            for name, flag in KNOWN_FLAGS.items()
        }
        self.values: dict[str, float] = dict(self.defaults)

    def update(self, rows: list[tuple[str, object]]) -> None:
        """Replace the values with stored `(name, value)` rows; absent flags take defaults.

        Unknown names and invalid values are ignored with a warning (the default stays)."""
        values = dict(self.defaults)
        for name, value in rows:
            try:
                values[name] = validate_flag(name, value)
            except FlagError as exc:
                log.warning("ignoring stored flag: %s", exc)
        self.values = values

    def rate(self, endpoint: str) -> float:
        return self.values[f"workload.rate.{endpoint}"]
