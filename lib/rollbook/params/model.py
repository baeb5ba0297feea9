"""The params model: one YAML file per environment, validated before any connection opens."""

from __future__ import annotations

from pydantic import Field, ValidationInfo, field_validator

from rollbook.cache.params import CacheParams
from rollbook.canary.params import CanaryParams
from rollbook.config.base import Strict
from rollbook.config.endpoints import (
    LabRef,
    PgBouncerEndpoint,
    PostgresEndpoint,
    PrometheusEndpoint,
    RedisEndpoint,
    Safety,
)
from rollbook.explain.params import ExplainSettings, NamedQuery
from rollbook.params.validation import ValidationParams
from rollbook.prom.params import MonitoringParams


class Params(Strict):
    """Everything a runbook needs to know about one environment."""

    environment: str = Field(min_length=1, description="name of the target, e.g. lab, staging")
    lab: LabRef | None = None
    primary: PostgresEndpoint
    replica: PostgresEndpoint | None = None
    pgbouncer: PgBouncerEndpoint | None = None
    redis: RedisEndpoint | None = None
    prometheus: PrometheusEndpoint | None = None
    safety: Safety = Safety()
    queries: dict[str, NamedQuery] = Field(
        default_factory=dict, description="named queries the runbooks EXPLAIN"
    )
    explain: ExplainSettings = Field(default_factory=ExplainSettings)
    monitoring: MonitoringParams = Field(
        default_factory=MonitoringParams,
        description="Prometheus query overrides and SLOs",
    )
    canary: CanaryParams = Field(
        default_factory=CanaryParams,
        description="ramp steps, check cadence and rollback triggers",
    )
    validation: ValidationParams = Field(
        default_factory=ValidationParams,
        description="post-rollout success criteria and correctness probes",
    )
    cache: CacheParams = Field(
        default_factory=CacheParams,
        description="where the service caches query rows (default: the reference layout)",
    )

    @field_validator("cache")
    @classmethod
    def _cached_queries_are_named(cls, cache: CacheParams, info: ValidationInfo) -> CacheParams:
        """A `cache:` section given names queries under `queries:` (the default layout is
        checked when a runbook reads the cache)."""
        queries = info.data.get("queries")
        if queries is not None:
            cache.check_queries({name: set(q.params) for name, q in queries.items()})
        return cache
