"""Virtual clients: each holds its own connection to the target for the whole run; a
request waits for a free one (open loop: that wait is part of its latency)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from rollbook.load.target import Target

log = logging.getLogger(__name__)

OPEN_CONCURRENCY = 50  # connections a worker opens at once
RECONNECT_PAUSE_SECONDS = 0.5


class Client:
    """One virtual client: its connection and per-client state of the request sources."""

    __slots__ = ("index", "conn", "state")

    def __init__(self, index: int, conn: Any) -> None:
        self.index = index
        self.conn = conn
        self.state: dict[str, Any] = {}


class Clients:
    """A worker's virtual clients, `count` of them numbered from `first`. A client whose
    connection cannot serve again (a cancelled or failed request) reconnects before it
    is free again."""

    def __init__(self, target: Target, count: int, first: int = 0) -> None:
        self.target = target
        self.count = count
        self.first = first
        self.clients: list[Client] = []
        self.reconnects = 0
        self._free: asyncio.Queue[Client] = asyncio.Queue()
        self._repairs: set[asyncio.Task] = set()

    async def open(self) -> None:
        """Open every client's connection (all or none: a failure closes those opened)."""
        limit = asyncio.Semaphore(OPEN_CONCURRENCY)

        async def one(index: int) -> Client:
            async with limit:
                return Client(index, await self.target.connect())

        results = await asyncio.gather(
            *(one(self.first + i) for i in range(self.count)), return_exceptions=True
        )
        self.clients = [r for r in results if isinstance(r, Client)]
        failure = next((r for r in results if isinstance(r, BaseException)), None)
        if failure is not None:
            await self.close()
            raise failure
        for client in self.clients:
            self._free.put_nowait(client)

    @property
    def free(self) -> int:
        return self._free.qsize()

    async def acquire(self) -> Client:
        return await self._free.get()

    def release(self, client: Client) -> None:
        if self.target.reusable(client.conn):
            self._free.put_nowait(client)
            return
        task = asyncio.get_running_loop().create_task(self._reconnect(client))
        self._repairs.add(task)
        task.add_done_callback(self._repairs.discard)

    async def _reconnect(self, client: Client) -> None:
        with contextlib.suppress(Exception):
            await client.conn.close()
        while True:
            try:
                client.conn = await self.target.connect()
            except Exception as exc:  # the target is down: keep the client out, try again
                log.warning("virtual client %d cannot reconnect: %s", client.index, exc)
                await asyncio.sleep(RECONNECT_PAUSE_SECONDS)
            else:
                self.reconnects += 1
                self._free.put_nowait(client)
                return

    async def close(self) -> None:
        """Close every client's connection (repairs in progress are abandoned)."""
        for task in list(self._repairs):
            task.cancel()
        await asyncio.gather(*self._repairs, return_exceptions=True)
        await asyncio.gather(*(c.conn.close() for c in self.clients), return_exceptions=True)
