"""Build a ramp from validated params: the flag checked, SLO found, real collaborators."""

from __future__ import annotations

from typing import Protocol

import psycopg

from rollbook.canary.controller import Clock, Progress, Ramp, RampController
from rollbook.canary.metrics import PromMetricSource
from rollbook.canary.params import CanaryParams
from rollbook.canary.progress import RampProgress
from rollbook.canary.state import RampStates
from rollbook.config.endpoints import PostgresEndpoint, PrometheusEndpoint, Safety
from rollbook.db.locks import target_of
from rollbook.errors import InputError
from rollbook.flags import FlagError, FlagStore, known_flag
from rollbook.prom.client import PromClient
from rollbook.prom.params import MonitoringParams

ROLLOUT_FAMILIES = ("pgbouncer", "cache", "replica")


class RampError(InputError, ValueError):
    """A ramp that cannot be built (the message names what is wrong)."""


class RampParams(Protocol):
    """The params sections a ramp reads (the params model has them)."""

    @property
    def canary(self) -> CanaryParams: ...
    @property
    def monitoring(self) -> MonitoringParams: ...
    @property
    def primary(self) -> PostgresEndpoint: ...
    @property
    def prometheus(self) -> PrometheusEndpoint | None: ...
    @property
    def safety(self) -> Safety: ...


def latency_slo_seconds(canary: CanaryParams, monitoring: MonitoringParams, endpoint: str) -> float:
    """`canary.triggers.latency_slo.p95_seconds`, else the endpoint's p95 SLO."""
    explicit = canary.triggers.latency_slo.p95_seconds
    if explicit is not None:
        return explicit
    name = f"{endpoint}_latency_p95_seconds"
    for slo in monitoring.slo:
        if slo.concept == name and slo.op in ("<", "<="):
            return slo.threshold
    raise RampError(
        f"no latency SLO for {endpoint}: set canary.triggers.latency_slo.p95_seconds "
        f"or add `{name} <= ...` to monitoring.slo"
    )


def ramp_for(
    params: RampParams,
    flag: str,
    *,
    steps: list[float] | None = None,
    triggers: list[str] | None = None,
) -> Ramp:
    """The ramp of a rollout flag (`pgbouncer.*`, `cache.*`, `replica.*`)."""
    try:
        known = known_flag(flag)
    except FlagError as exc:
        raise RampError(str(exc)) from None
    family, _, endpoint = flag.partition(".")
    if family not in ROLLOUT_FAMILIES or known.kind != "percent":
        raise RampError(
            f"{flag} is not a rollout flag; ramp one of "
            + ", ".join(f"{f}.<endpoint>" for f in ROLLOUT_FAMILIES)
        )
    # Re-validate overrides through the params model, so bad steps get the same message.
    settings = CanaryParams.model_validate(
        {
            **params.canary.model_dump(),
            **({"steps": steps} if steps is not None else {}),
            **({"triggers_by_flag": {flag: triggers}} if triggers is not None else {}),
        }
    ).for_flag(flag)
    return Ramp(
        flag=flag,
        endpoint=endpoint,
        settings=settings,
        slo_seconds=latency_slo_seconds(params.canary, params.monitoring, endpoint),
        steps=tuple(settings.steps),
        triggers=tuple(settings.triggers_for(flag)),
    )


def controller_for(
    params: RampParams,
    flag: str,
    conn: psycopg.Connection,
    *,
    run_id: str | None = None,
    archive_run_id: str | None = None,
    dry_run: bool | None = None,
    steps: list[float] | None = None,
    triggers: list[str] | None = None,
    progress: Progress | None = None,
    clock: Clock | None = None,
) -> RampController:
    """A controller on the primary connection `conn` (flags and ramp state) and the
    params' Prometheus; a dry run unless params say `safety.apply`."""
    return RampController(
        ramp_for(params, flag, steps=steps, triggers=triggers),
        flags=FlagStore(conn),
        states=RampStates(conn, target_of(params.primary)),
        source=PromMetricSource(
            PromClient.from_params(params),
            params.monitoring.queries,
            variant_label=flag.partition(".")[0],
        ),
        run_id=run_id,
        archive_run_id=archive_run_id,
        clock=clock,
        progress=progress if progress is not None else RampProgress(),
        dry_run=not params.safety.apply if dry_run is None else dry_run,
    )
