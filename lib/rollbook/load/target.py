"""What virtual clients connect to: one client connection each, PgBouncer by default."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import psycopg
from psycopg.pq import TransactionStatus

from rollbook.config.endpoints import PgBouncerEndpoint, PostgresEndpoint
from rollbook.db.session import conninfo


class Connection(Protocol):
    async def close(self) -> None: ...


class Target(Protocol):
    """Opens the connections of virtual clients (a picklable description: each worker
    process opens its own)."""

    async def connect(self) -> Any: ...

    def reusable(self, conn: Any) -> bool:
        """Whether a connection can serve the next request (not broken, nothing pending)."""
        ...


@dataclass(frozen=True)
class PostgresTarget:
    """A PostgreSQL endpoint. `pooled`: it is PgBouncer in transaction mode (no server-side
    prepared statements). The password stays a reference until a worker connects."""

    endpoint: PostgresEndpoint
    pooled: bool = True
    application_name: str = "rollbook-load"

    @classmethod
    def through_pgbouncer(
        cls, primary: PostgresEndpoint, pgbouncer: PgBouncerEndpoint, **options: Any
    ) -> PostgresTarget:
        """The application's path: the primary's role and credentials, via PgBouncer."""
        endpoint = primary.model_copy(
            update={"host": pgbouncer.host, "port": pgbouncer.port, "dbname": pgbouncer.dbname}
        )
        return cls(endpoint, pooled=True, **options)

    async def connect(self) -> psycopg.AsyncConnection:
        options: dict[str, Any] = {"autocommit": True}
        if self.pooled:
            options["prepare_threshold"] = None
        return await psycopg.AsyncConnection.connect(
            **conninfo(self.endpoint, self.application_name[:63]), **options
        )

    def reusable(self, conn: psycopg.AsyncConnection) -> bool:
        return not conn.closed and conn.info.transaction_status is TransactionStatus.IDLE
