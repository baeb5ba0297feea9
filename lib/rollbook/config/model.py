"""The params model: one YAML file per environment, validated before any connection opens."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo

from rollbook.config.secrets import SecretRef, secret_ref_from_value


def _no_literal_secret(value: Any, info: ValidationInfo) -> Any:
    return secret_ref_from_value(value, info.field_name or "a secret field")


Secret = Annotated[SecretRef | None, BeforeValidator(_no_literal_secret)]


class Strict(BaseModel):
    """Base for every params section: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


class LabRef(Strict):
    """Use the embedded lab: endpoints and the password come from its directory."""

    dir: Path | None = Field(
        default=None, description="lab directory; default $ROLLBOOK_LAB_DIR, else .lab"
    )


class PostgresEndpoint(Strict):
    """A PostgreSQL server as libpq sees it (password only as a reference)."""

    host: str = "127.0.0.1"
    port: int = Field(default=5432, ge=1, le=65535)
    dbname: str
    user: str
    password: Secret = None
    service: str | None = Field(default=None, description="libpq service name (pg_service.conf)")
    passfile: Path | None = Field(default=None, description="libpq .pgpass file")
    sslmode: str | None = None


class PgBouncerEndpoint(Strict):
    """PgBouncer: the pooled database and the admin console."""

    host: str = "127.0.0.1"
    port: int = Field(default=6432, ge=1, le=65535)
    dbname: str
    admin_user: str
    admin_password: Secret = None


class RedisEndpoint(Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=6379, ge=1, le=65535)
    db: int = Field(default=0, ge=0)
    password: Secret = None


class PrometheusEndpoint(Strict):
    url: str
    bearer_token: Secret = None


class Safety(Strict):
    """Guard rails applied to every session the runbooks open."""

    apply: bool = Field(default=False, description="change the target; otherwise dry run")
    application_name: str = "rollbook"
    statement_timeout_ms: int = Field(default=30_000, ge=0)
    lock_timeout_ms: int = Field(default=5_000, ge=0)


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
    explain: ExplainSettings = Field(default_factory=lambda: ExplainSettings())
    monitoring: MonitoringParams = Field(
        default_factory=lambda: MonitoringParams(),
        description="Prometheus query overrides and SLOs",
    )
    canary: CanaryParams = Field(
        default_factory=lambda: CanaryParams(),
        description="ramp steps, check cadence and rollback triggers",
    )
    validation: ValidationParams = Field(
        default_factory=lambda: ValidationParams(),
        description="post-rollout success criteria and correctness probes",
    )


# The monitoring section subclasses Strict, so it can only be imported once Strict exists.
from rollbook.canary.params import CanaryParams  # noqa: E402
from rollbook.explain.params import ExplainSettings, NamedQuery  # noqa: E402  (same reason)
from rollbook.phases.validation_params import ValidationParams  # noqa: E402
from rollbook.prom.params import MonitoringParams  # noqa: E402

Params.model_rebuild()
