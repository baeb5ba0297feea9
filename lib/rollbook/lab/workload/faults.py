"""One request as the chat service runs it: canary requests get the fault flags' faults
(`fault.<endpoint>.latency_ms`, `fault.<endpoint>.error_percent`), then the endpoint."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping

from rollbook.errors import RollbookError
from rollbook.lab.workload.chat import Chat
from rollbook.lab.workload.selection import Plan, selected


class InjectedFault(RollbookError, RuntimeError):
    """A canary request failed on purpose (flag fault.<endpoint>.error_percent)."""


async def inject_faults(endpoint: str, flags: Mapping[str, float], rng: random.Random) -> None:
    latency_ms = flags[f"fault.{endpoint}.latency_ms"]
    if latency_ms > 0:
        await asyncio.sleep(latency_ms / 1000)
    if selected(flags[f"fault.{endpoint}.error_percent"], rng):
        raise InjectedFault(f"fault.{endpoint}.error_percent")


async def serve(
    chat: Chat, endpoint: str, plan: Plan, flags: Mapping[str, float], rng: random.Random
) -> str:
    """Run one request planned as `plan`; returns the route its answer came from."""
    if plan.variant == "canary":
        await inject_faults(endpoint, flags, rng)
    return await getattr(chat, endpoint)(plan)
