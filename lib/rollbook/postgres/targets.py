"""The servers a mechanism connects to: the params model satisfies this protocol without
being imported here."""

from __future__ import annotations

from typing import Protocol

from rollbook.config.endpoints import PostgresEndpoint, Safety
from rollbook.errors import InputError


class Targets(Protocol):
    @property
    def primary(self) -> PostgresEndpoint: ...

    @property
    def replica(self) -> PostgresEndpoint | None: ...

    @property
    def safety(self) -> Safety: ...


def replica_of(targets: Targets) -> PostgresEndpoint:
    """The replica's endpoint; InputError naming the missing section if there is none."""
    if targets.replica is None:
        raise InputError("params have no `replica` section, which this step needs")
    return targets.replica
