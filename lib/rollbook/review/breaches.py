"""When a series broke its objective: spans of breach, met and no data over a window.

A moment is judged on its own sample: on the wrong side of the objective is a breach, on
the right side is met, and a missing sample (a gap, or NaN such as a percentile of no
requests) is *no data*, never one or the other.
"""

from __future__ import annotations

import operator

import pandas as pd

from rollbook.prom.params import Slo
from rollbook.prom.slo import WORST
from rollbook.prom.window import Window, human_duration
from rollbook.verdict import Check, Status

BREACH, MET, NO_DATA = "breach", "met", "no data"
SPAN_COLUMNS = ["state", "start", "end", "duration", "worst"]
_HOLDS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def grid(window: Window, step: pd.Timedelta) -> pd.DatetimeIndex:
    """The moments a range query over the window evaluates (`PromClient.range`'s grid)."""
    first = pd.Timestamp(window.start).floor("s")
    return pd.date_range(first, pd.Timestamp(window.end), freq=pd.Timedelta(step))


def worst_per_moment(frame: pd.DataFrame, slo: Slo) -> pd.Series:
    """One value per timestamp: the series furthest on the failing side (NaN if none),
    so a moment is as bad as its worst series."""
    if frame.empty:
        return pd.Series(dtype=float)
    return frame.groupby("timestamp")["value"].agg(WORST[slo.op])


def spans(frame: pd.DataFrame, slo: Slo, window: Window, step) -> pd.DataFrame:
    """Consecutive moments of the same state as spans [start, end) (the last one ends with
    the window); `worst` is the worst value of a breach or met span."""
    moments = grid(window, step)
    values = worst_per_moment(frame, slo).reindex(moments)
    holds = _HOLDS[slo.op](values, slo.threshold)
    states = pd.Series(MET, index=moments).where(holds, BREACH).where(values.notna(), NO_DATA)
    run = (states != states.shift()).cumsum()
    rows = []
    for _, part in states.groupby(run):
        inside = values[part.index]
        worst = getattr(inside, WORST[slo.op])() if part.iloc[0] != NO_DATA else None
        rows.append({"state": part.iloc[0], "start": part.index[0], "worst": worst})
    table = pd.DataFrame(rows, columns=["state", "start", "worst"])
    table["end"] = table["start"].shift(-1).fillna(pd.Timestamp(window.end))
    table["duration"] = table["end"] - table["start"]
    return table[SPAN_COLUMNS]


def _when(span) -> str:
    return f"{span.start:%H:%M:%S}–{span.end:%H:%M:%S} ({human_duration(span.duration)})"


def breach_check(slo: Slo, title: str, unit: str, table: pd.DataFrame) -> Check:
    """The objective at every moment of the window: any breach fails, listing each one;
    no breach but gaps is no data; an unbroken series on the right side passes."""
    breaches = table[table["state"] == BREACH]
    gaps = table[table["state"] == NO_DATA]
    parts = [f"breach {_when(b)} worst {b.worst:g} {unit}".strip() for b in breaches.itertuples()]
    parts += [f"no data {_when(g)}" for g in gaps.itertuples()]
    if len(breaches):
        status = Status.FAIL
        observed = f"{len(breaches)} breach(es), {human_duration(breaches['duration'].sum())}"
    elif len(gaps) or table.empty:
        status, observed = Status.NO_DATA, None
    else:
        status, observed = Status.PASS, "no breach"
    return Check(
        name=f"SLO {slo} at every moment ({title})",
        status=status,
        observed=observed,
        threshold=f"{slo.op} {slo.threshold:g}",
        unit=unit,
        required=slo.required,
        detail="; ".join(parts),
    )
