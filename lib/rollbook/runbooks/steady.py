"""The steady window: traffic since the system last changed, as Prometheus holds it.

A window ending now starts at the latest of: its requested length ago, the first data
Prometheus holds (a lab just started) and the last feature-flag change (a flag flipped
inside the window would blur the result). The preflight baseline and the post-rollout
validation both judge over it."""

from __future__ import annotations

from datetime import datetime, timedelta

from rollbook.db import scalar, session
from rollbook.flags import FlagStore
from rollbook.params import Params
from rollbook.prom.client import PromClient
from rollbook.prom.slo import with_data
from rollbook.prom.window import Window, last


def last_flag_change(params: Params, since: datetime) -> datetime | None:
    """When a feature flag last changed after `since` (None: no change, or no flag table)."""
    with session(params.primary, params.safety, purpose="flag history", read_only=True) as conn:
        if scalar(conn, "SELECT to_regclass('rollbook.flag_audit')") is None:
            return None
        history = FlagStore(conn).history(since=since)
    return None if history.empty else history["changed_at"].max().to_pydatetime()


def steady_window(
    params: Params, client: PromClient, window: str, min_steady: timedelta = timedelta(0)
) -> Window:
    """`window` ending now, from the first data and no earlier than the last flag change;
    when that change is under `min_steady` ago, the window from the first data instead
    (something to compare with beats a few seconds of nothing)."""
    span = with_data(client, last(window))
    changed = last_flag_change(params, span.start)
    if changed is None or changed >= span.end or span.end - changed < min_steady:
        return span
    return Window(changed, span.end)
