"""The lab's connection pools and Redis client, as the chat service opens them."""

from __future__ import annotations

from psycopg.conninfo import make_conninfo
from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from rollbook.lab.layout import APP_USER, DATABASE, LabLayout


def lab_pool(
    layout: LabLayout,
    port_name: str,
    size: int,
    pooled: bool,
    application: str = "rollbook-workload",
) -> AsyncConnectionPool:
    """A pool (not yet open) to one of the lab's servers as the application role;
    `pooled`: the server is PgBouncer in transaction mode (no server-side prepares)."""
    conninfo = make_conninfo(
        host="127.0.0.1",
        port=layout.ports[port_name],
        dbname=DATABASE,
        user=APP_USER,
        password=layout.secret_file("app").read_text().strip(),
        application_name=f"{application}:{port_name}",
        connect_timeout=3,
    )
    kwargs: dict = {"autocommit": True}
    if pooled:
        kwargs["prepare_threshold"] = None  # PgBouncer transaction mode
    return AsyncConnectionPool(
        conninfo,
        kwargs=kwargs,
        min_size=1,
        max_size=size,
        open=False,
        timeout=2.0,
        name=port_name,
        reconnect_timeout=3600.0,
    )


def lab_redis(layout: LabLayout) -> Redis:
    """The cache client: short timeouts, no retries (a request falls back to the database)."""
    return Redis(
        host="127.0.0.1",
        port=layout.ports["redis"],
        socket_timeout=1.0,
        socket_connect_timeout=1.0,
        retry=Retry(NoBackoff(), 0),
    )
