"""A fake load target and request source for the load generator's unit tests: no database,
importable by the worker processes (spawn) because pytest puts this folder on sys.path."""

from __future__ import annotations

import asyncio
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass


class FakeConn:
    def __init__(self) -> None:
        self.closed = False
        self.busy = False  # a request on it did not finish (as psycopg's ACTIVE state)

    async def close(self) -> None:
        self.closed = True


@dataclass(frozen=True)
class FakeTarget:
    async def connect(self) -> FakeConn:
        return FakeConn()

    def reusable(self, conn: FakeConn) -> bool:
        return not conn.closed and not conn.busy


class Failure(RuntimeError):
    """The fake target's error."""


@dataclass(frozen=True)
class FakeService:
    """Request type `fake`: takes `service_seconds` on the event loop's clock; `block_seconds`
    blocks the worker's event loop (a generator without CPU to spare); `fail` raises;
    `hang` never answers."""

    service_seconds: float = 0.001
    block_seconds: float = 0.0
    fail: bool = False
    hang: bool = False

    def names(self) -> tuple[str, ...]:
        return ("fake",)

    @asynccontextmanager
    async def open(self, target, rng):
        yield self.perform

    async def perform(self, name: str, client) -> None:
        client.conn.busy = True
        if self.block_seconds:
            time.sleep(self.block_seconds)
        if self.hang:
            await asyncio.Event().wait()
        await asyncio.sleep(self.service_seconds)
        if self.fail:
            raise Failure("the fake target failed")
        client.conn.busy = False
