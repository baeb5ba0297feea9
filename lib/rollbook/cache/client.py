"""A Redis client for the params' Redis endpoint."""

from __future__ import annotations

import redis

from rollbook.config.endpoints import RedisEndpoint
from rollbook.errors import InputError


def redis_client(endpoint: RedisEndpoint | None) -> redis.Redis:
    """A client for `endpoint` (password resolved here, in-process); InputError if the
    params have no `redis` section."""
    if endpoint is None:
        raise InputError("params have no `redis` section, which this step needs")
    password = endpoint.password.resolve() if endpoint.password else None
    return redis.Redis(
        host=endpoint.host, port=endpoint.port, db=endpoint.db, password=password, socket_timeout=5
    )
