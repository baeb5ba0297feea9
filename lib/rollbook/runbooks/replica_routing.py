"""Phase 4: send reads (history, conversation list) to the streaming replica.

The application's breaker (`replica.max_lag_seconds`) sends reads back to the primary when
the replica lags; the ramps judge replica lag and the breaker besides latency and errors.
Before the ramp: the replica streams, lags less than the threshold, and its hot-standby
settings avoid query cancellations; a stale-read check writes a probe row on the primary
and measures how long until a read on the replica sees it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from rollbook.archive.baselines import latest_baseline
from rollbook.canary.rollout_ramps import Observed
from rollbook.db import session
from rollbook.flags import FlagStore
from rollbook.params import Params, required
from rollbook.postgres.replica_wait import wait_for_replay
from rollbook.postgres.staleness import probe_seconds
from rollbook.prom.catalog import concept
from rollbook.prom.client import PromClient, PrometheusError
from rollbook.prom.slo import summarise
from rollbook.prom.window import Window
from rollbook.runbooks import preflight
from rollbook.runbooks.indexes import Preconditions
from rollbook.step import StepResult
from rollbook.verdict import Check, compare, expect

FLAGS = ("replica.history", "replica.conversations")
LOAD_CONCEPT = "primary_tuples_read_per_second"
SERIES = [
    "read_routing_share",
    "replica_lag_seconds",
    "replica_breaker_state",
    LOAD_CONCEPT,
    "latency_p95_by_endpoint_seconds",
]


def during_ramps(max_lag_seconds: float) -> list[Observed]:
    """Lag and breaker bounds while reads move to the replica."""
    return [
        Observed("replica_lag_seconds", "<=", max_lag_seconds),
        Observed("replica_breaker_state", "<", 2),
        Observed("error_ratio", "<", 0.01),
    ]


def max_lag_seconds(params: Params) -> float:
    """The application's breaker threshold (flag `replica.max_lag_seconds`)."""
    with session(params.primary, params.safety, purpose="flags", read_only=True) as conn:
        threshold = FlagStore(conn).get("replica.max_lag_seconds")
    assert threshold is not None, "the flag's catalog default is a number"
    return float(threshold)


# -- preconditions ------------------------------------------------------------------------


def standby_settings(params: Params, *, min_streaming_delay_seconds: float = 5.0) -> StepResult:
    """hot_standby on; hot_standby_feedback on (vacuum on the primary keeps rows the
    replica's queries still read); max_standby_streaming_delay long enough for a read
    (-1 waits forever; 0 cancels at once)."""
    replica = required(params.replica, "replica")
    with session(replica, params.safety, purpose="replica check", read_only=True) as conn:
        rows = conn.execute(
            "SELECT name, setting, unit FROM pg_settings WHERE name = ANY(%s) ORDER BY name",
            (["hot_standby", "hot_standby_feedback", "max_standby_streaming_delay"],),
        ).fetchall()
    table = pd.DataFrame(rows, columns=["setting", "value", "unit"])
    values = dict(zip(table["setting"], table["value"], strict=True))
    delay_ms = float(values.get("max_standby_streaming_delay", 0))
    delay = None if delay_ms < 0 else delay_ms / 1000
    return StepResult(
        table,
        [
            expect("replica hot_standby on", values.get("hot_standby") == "on"),
            expect(
                "replica hot_standby_feedback on",
                values.get("hot_standby_feedback") == "on",
                detail="off: vacuum on the primary cancels long reads on the replica",
            ),
            compare(
                "replica max_standby_streaming_delay",
                float("inf") if delay is None else delay,
                ">=",
                min_streaming_delay_seconds,
                unit="s",
                detail="-1 (wait forever)" if delay is None else f"{delay:g} s",
            ),
        ],
    )


def preconditions(params: Params, *, max_lag: float) -> Preconditions:
    return Preconditions.of(
        {
            "replication": preflight.replication(params, max_lag),
            "hot standby": standby_settings(params),
        }
    )


# -- stale reads --------------------------------------------------------------------------


def stale_reads(
    params: Params, *, max_lag: float, samples: int = 5, timeout_seconds: float = 10.0
) -> StepResult:
    """How stale a replica read is. With `apply`: write a probe row on the primary and
    poll the replica until it reads it (the replica route's staleness). A dry run writes
    nothing and waits for the replica to replay the primary's current WAL position."""
    if not params.safety.apply:
        replay = wait_for_replay(params, timeout_seconds, poll_seconds=0.01)
        seconds = replay.waited_seconds if replay.caught_up else None
        table = pd.DataFrame([{"sample": "WAL replay", "seconds": seconds}])
        return StepResult(table, [_staleness_check(table, max_lag, "WAL replay (dry run)", False)])
    seen = probe_seconds(
        params, "stale-read probe", samples=samples, timeout_seconds=timeout_seconds
    )
    rows = [{"sample": n, "seconds": seconds} for n, seconds in enumerate(seen, 1)]
    table = pd.DataFrame(rows, columns=["sample", "seconds"])
    return StepResult(table, [_staleness_check(table, max_lag, f"{samples} probe writes", True)])


def _staleness_check(table: pd.DataFrame, max_lag: float, what: str, required: bool) -> Check:
    values = table["seconds"]
    worst = None if values.isna().any() or values.empty else float(values.max())
    return compare(
        "replica reads see a primary write within the breaker threshold",
        worst,
        "<=",
        max_lag,
        unit="s",
        required=required,
        detail=f"worst of {what}; none = not seen in time",
    )


# -- after the ramps ----------------------------------------------------------------------


def primary_load(
    params: Params, window: Window, *, output_dir: Path, max_ratio: float = 1.0
) -> tuple[pd.DataFrame, Check]:
    """Primary tuples read per second over `window` against the baseline of the newest
    passed preflight of the same environment in the archive `output_dir`."""
    run_id, baseline = latest_baseline(params.environment, output_dir)
    before = baseline.get(LOAD_CONCEPT)
    try:
        after = summarise(PromClient.from_params(params), concept(LOAD_CONCEPT), window)
    except PrometheusError:
        after = None
    ratio = None if before in (None, 0) or after is None else after / before
    table = pd.DataFrame(
        [
            {
                "concept": LOAD_CONCEPT,
                "preflight": before,
                "after ramps": after,
                "ratio": ratio,
                "preflight run": run_id,
            }
        ]  # fmt: skip
    )
    check = compare(
        "primary tuples read: after the ramps / preflight baseline",
        ratio,
        "<=",
        max_ratio,
        required=params.safety.apply and run_id is not None,
        detail=f"baseline of {run_id}" if run_id else "no passed preflight archived",
    )
    return table, check


def routing(params: Params, window: Window) -> tuple[pd.DataFrame, Check]:
    """Share of requests served by each route over `window`; the replica must serve some."""
    measure = concept("read_routing_share", params.monitoring.queries)
    try:
        frame = PromClient.from_params(params).instant(
            measure.query(window.duration), at=window.end
        )
    except PrometheusError:
        frame = pd.DataFrame(columns=["route", "value"])
    table = (
        frame[["route", "value"]] if "route" in frame else pd.DataFrame(columns=["route", "value"])
    )
    share = table.loc[table["route"] == "replica", "value"]
    check = compare(
        "requests served by the replica",
        float(share.iloc[0]) if len(share) else None,
        ">",
        0,
        unit="ratio",
        required=params.safety.apply,
        detail=f"share of all requests over {window}",
    )
    return table.rename(columns={"value": "share"}), check
