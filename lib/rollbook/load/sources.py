"""Request sources: picklable descriptions of request types that each worker opens once.

A source names its request types and, opened in a worker, gives the coroutine function
that runs one request of a type on a virtual client (raising on failure).
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from rollbook.load.clients import Client
from rollbook.load.target import Target

Perform = Callable[[str, Client], Awaitable[None]]


class RequestSource(Protocol):
    def names(self) -> tuple[str, ...]: ...

    def open(self, target: Target, rng: random.Random) -> AbstractAsyncContextManager[Perform]:
        """Set up in the worker (samples, pools, ...); yields `perform(name, client)`."""
        ...
