"""Where the services are and how carefully to touch them: the endpoint and safety
sections of the params (no dependency on the phases' own sections)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field

from rollbook.config.base import Secret, Strict

Port = Annotated[int, Field(ge=1, le=65535)]


class LabRef(Strict):
    """Use the embedded lab: endpoints and the password come from its directory."""

    dir: Path | None = Field(
        default=None, description="lab directory; default $ROLLBOOK_LAB_DIR, else .lab"
    )


class PostgresEndpoint(Strict):
    """A PostgreSQL server as libpq sees it (password only as a reference)."""

    host: str = "127.0.0.1"
    port: Port = 5432
    dbname: str
    user: str
    password: Secret = None
    service: str | None = Field(default=None, description="libpq service name (pg_service.conf)")
    passfile: Path | None = Field(default=None, description="libpq .pgpass file")
    sslmode: str | None = None


class PgBouncerEndpoint(Strict):
    """PgBouncer: the pooled database and the admin console."""

    host: str = "127.0.0.1"
    port: Port = 6432
    dbname: str
    admin_user: str
    admin_password: Secret = None
    app_prepares_statements: bool | None = Field(
        default=None,
        description="whether the application's driver makes server-side prepared statements "
        "through PgBouncer (psycopg 3: true unless prepare_threshold=None)",
    )


class RedisEndpoint(Strict):
    host: str = "127.0.0.1"
    port: Port = 6379
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
