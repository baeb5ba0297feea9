"""What one health check sees: a `Snapshot` of an endpoint over a window, and where it
comes from (`PromMetricSource`; tests pass a fake with the same `snapshot` method).

The canary needs requests labelled canary or baseline: the latency histogram
`chat_request_duration_seconds{endpoint,<label>}` and the request counter
`chat_requests_total{endpoint,outcome,<label>}`, where `<label>` is the ramped flag's
family (`pgbouncer`, `cache`, `replica`: the flag selected the request or not) or
`variant` (any rollout flag did). PgBouncer and replica signals are the
metric catalog's concepts, so `monitoring.queries` overrides apply to them too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from rollbook.canary.judge import Buckets
from rollbook.prom.catalog import concept
from rollbook.prom.client import PromClient

if TYPE_CHECKING:
    import pandas as pd


def by_variant(metric: str, by: str, label: str, endpoint: str, window: int) -> str:
    """PromQL: `metric`'s increase over the window per `by` and variant, where `label`
    (a family or `variant`) is renamed `variant`."""
    increase = f'increase({metric}{{endpoint="{endpoint}"}}[{window}s])'
    return f'sum by (variant, {by}) (label_replace({increase}, "variant", "$1", "{label}", "(.*)"))'


CACHE_LOOKUPS = (
    'sum by (result) (increase(chat_cache_requests_total{{endpoint="{endpoint}"}}[{window}s]))'
)
GAUGES = {
    "pool_saturation_ratio": "pgbouncer_pool_saturation_ratio",
    "clients_waiting": "pgbouncer_clients_waiting",
    "replica_lag_seconds": "replica_lag_seconds",
    "breaker_state": "replica_breaker_state",
}


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole > 0 else None


@dataclass(frozen=True)
class Snapshot:
    """An endpoint over one window: latency histograms and request outcomes per variant,
    cache lookups, and the worst value of each database gauge (None: no data)."""

    window_seconds: float
    buckets: dict[str, Buckets] = field(default_factory=dict)  # variant -> histogram
    requests: dict[tuple[str, str], float] = field(default_factory=dict)  # (variant, outcome)
    cache_lookups: float = 0.0
    cache_errors: float = 0.0
    pool_saturation_ratio: float | None = None
    clients_waiting: float | None = None
    replica_lag_seconds: float | None = None
    breaker_state: float | None = None

    def latency(self, variant: str | None = None) -> Buckets:
        """One variant's histogram, or all requests' (variant None)."""
        if variant is not None:
            return self.buckets.get(variant, Buckets.empty())
        total = Buckets.empty()
        for histogram in self.buckets.values():
            total = total + histogram
        return total

    def p95_seconds(self, variant: str | None = None) -> float | None:
        return self.latency(variant).quantile(0.95)

    def request_count(self, variant: str | None = None) -> float:
        return sum(n for (v, _), n in self.requests.items() if variant in (None, v))

    def error_ratio(self, variant: str | None = None) -> float | None:
        errors = sum(
            n for (v, o), n in self.requests.items() if o == "error" and variant in (None, v)
        )
        return _ratio(errors, self.request_count(variant))

    @property
    def cache_error_ratio(self) -> float | None:
        return _ratio(self.cache_errors, self.cache_lookups)


class MetricSource(Protocol):
    def snapshot(self, endpoint: str, window_seconds: float) -> Snapshot:
        """The endpoint over the window that ends now."""


def _bound(le: str) -> float:
    return math.inf if le in ("+Inf", "Inf") else float(le)


class PromMetricSource:
    """Snapshots from Prometheus: seven instant queries per check."""

    def __init__(
        self,
        client: PromClient,
        overrides: dict[str, str] | None = None,
        variant_label: str = "variant",
    ) -> None:
        self.client = client
        self.variant_label = variant_label
        self.gauges = {field_: concept(name, overrides) for field_, name in GAUGES.items()}

    def snapshot(self, endpoint: str, window_seconds: float) -> Snapshot:
        window = max(1, round(window_seconds))
        at = datetime.now(UTC)
        gauges: dict[str, float | None] = {}
        for name, measure in self.gauges.items():
            values = self.client.instant(measure.over(timedelta(seconds=window), "1s"), at)
            gauges[name] = float(values["value"].max()) if not values.empty else None
        lookups = self.client.instant(CACHE_LOOKUPS.format(endpoint=endpoint, window=window), at)
        label = self.variant_label
        return Snapshot(
            window_seconds=window,
            buckets=self._histograms(
                self.client.instant(
                    by_variant(
                        "chat_request_duration_seconds_bucket", "le", label, endpoint, window
                    ),
                    at,
                )
            ),
            requests={
                (row.variant, row.outcome): float(row.value)
                for row in self.client.instant(
                    by_variant("chat_requests_total", "outcome", label, endpoint, window), at
                ).itertuples()
            },
            cache_lookups=float(lookups["value"].sum()),
            cache_errors=float(lookups.loc[lookups.get("result") == "error", "value"].sum())
            if not lookups.empty
            else 0.0,
            **gauges,
        )

    @staticmethod
    def _histograms(frame: pd.DataFrame) -> dict[str, Buckets]:
        if frame.empty:
            return {}
        frame = frame.assign(bound=frame["le"].map(_bound)).sort_values("bound")
        return {
            variant: Buckets(tuple(rows["bound"]), tuple(rows["value"].fillna(0.0)))
            for variant, rows in frame.groupby("variant")
        }
