"""The `validation:` params section: the rollout's success criteria and correctness probes.

```yaml
validation:
  window: 15m                      # SLOs are judged over the last ... (from stored data)
  slo:                             # the success criteria (same syntax as monitoring.slo)
    - history_latency_p95_seconds <= 315ms
    - cache_hit_ratio > 70%
  min_client_connections: 5000     # PgBouncer max_client_conn (connection capacity)
  max_primary_load_ratio: 0.6      # primary load after / before the rollout (-40 %)
  max_latency_ratio: 1.0           # p95 after / before (not slower than the baseline)
  pagination_max_rows: 20000       # rows walked page by page through one conversation
  cache_sample_size: 100           # cached entries compared with the database
  max_replica_staleness_seconds: 5 # a marker written on the primary is visible by then
  ignored_alerts: []               # alerts listed but not judged here
```
"""

from __future__ import annotations

from pydantic import Field, model_validator

from rollbook.config.base import Strict
from rollbook.prom.catalog import concepts
from rollbook.prom.params import Slo, SloEntry

# The seed's success criteria after the rollout (production values).
SUCCESS_CRITERIA: list[Slo] = [
    Slo(concept="history_latency_p95_seconds", op="<=", threshold=0.315),
    Slo(concept="send_latency_p95_seconds", op="<=", threshold=0.225),
    Slo(concept="throughput_rps", op=">=", threshold=120),
    Slo(concept="error_ratio", op="<", threshold=0.01),
    Slo(concept="cache_hit_ratio", op=">", threshold=0.70),
    Slo(concept="replica_lag_seconds", op="<", threshold=5),
]


class ValidationParams(Strict):
    """Thresholds of the post-rollout validation (`notebooks/05_post_rollout_validation`)."""

    window: str = Field(default="15m", description="SLO window ending now, e.g. 15m, 1h")
    slo: list[SloEntry] = Field(default_factory=lambda: list(SUCCESS_CRITERIA))
    min_client_connections: int = Field(
        default=5000, ge=1, description="connection capacity: PgBouncer max_client_conn"
    )
    primary_load_concept: str = Field(
        default="primary_tuples_read_per_second", description="what 'primary DB load' means"
    )
    max_primary_load_ratio: float = Field(
        default=0.6, gt=0, description="primary load after / before the rollout"
    )
    latency_concepts: list[str] = Field(
        default_factory=lambda: ["history_latency_p95_seconds", "send_latency_p95_seconds"]
    )
    max_latency_ratio: float = Field(default=1.0, gt=0, description="p95 after / before")
    pagination_query_first: str = "history_first_page"
    pagination_query_next: str = "history_next_page"
    pagination_max_rows: int = Field(default=20_000, ge=1)
    cache_sample_size: int = Field(default=100, ge=1)
    max_replica_staleness_seconds: float = Field(default=5.0, gt=0)
    critical_severity: str = Field(default="critical", description="alert severity that fails")
    ignored_alerts: list[str] = Field(
        default_factory=list, description="alerts listed but not judged (known not to apply)"
    )

    @model_validator(mode="after")
    def _known_concepts(self) -> ValidationParams:
        named = [self.primary_load_concept, *self.latency_concepts]
        unknown = [c for c in named if c not in concepts()]
        if unknown:
            raise ValueError(f"no such metric concept: {', '.join(unknown)}")
        return self
