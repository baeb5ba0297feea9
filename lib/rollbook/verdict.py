"""Verdict checks: every runbook decision is a named check with observed value and threshold.

A check is `pass`, `fail` or `no data`; no data is never a pass, and a verdict without
checks fails ("no checks": nothing was verified).
"""

from __future__ import annotations

import operator
from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import BaseModel

from rollbook.errors import ChecksFailed

if TYPE_CHECKING:
    import pandas as pd
    from pandas.io.formats.style import Styler

_OPERATORS = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NO_DATA = "no data"


class Check(BaseModel):
    """One line of a verdict table."""

    name: str
    status: Status
    observed: float | int | str | bool | None = None
    threshold: str | None = None
    unit: str = ""
    required: bool = True
    detail: str = ""

    @property
    def blocks(self) -> bool:
        """A required check that did not pass makes the verdict fail."""
        return self.required and self.status is not Status.PASS


def compare(
    name: str,
    observed: float | None,
    op: str,
    limit: float,
    *,
    unit: str = "",
    required: bool = True,
    detail: str = "",
) -> Check:
    """Check `observed <op> limit`; a missing or NaN observation is `no data`."""
    if op not in _OPERATORS:
        raise ValueError(f"unknown comparison {op!r}; use one of {', '.join(_OPERATORS)}")
    threshold = f"{op} {limit:g}"
    if observed is None or observed != observed:  # None or NaN
        status = Status.NO_DATA
        observed = None
    else:
        status = Status.PASS if _OPERATORS[op](observed, limit) else Status.FAIL
    return Check(
        name=name,
        status=status,
        observed=observed,
        threshold=threshold,
        unit=unit,
        required=required,
        detail=detail,
    )


def expect(name: str, ok: bool | None, *, detail: str = "", required: bool = True) -> Check:
    """A yes/no check (None means it could not be observed)."""
    status = Status.NO_DATA if ok is None else Status.PASS if ok else Status.FAIL
    return Check(name=name, status=status, observed=ok, detail=detail, required=required)


class VerdictFailed(ChecksFailed, AssertionError):
    """Raised by a runbook's verdict cell so that papermill exits non-zero."""


def failing(checks: list[Check]) -> list[Check]:
    """The checks that make a verdict fail."""
    return [c for c in checks if c.blocks]


def passes(checks: list[Check]) -> bool:
    """A verdict passes when it has checks and none of them blocks."""
    return bool(checks) and not failing(checks)


NO_CHECKS = "no checks"
_TALLY_WORDS = {Status.PASS: "passed", Status.FAIL: "failed", Status.NO_DATA: "no data"}


def tally(checks: list[Check]) -> str:
    """`3 passed, 1 no data, 2 no data (not required)`: each check counted as what it was."""
    if not checks:
        return NO_CHECKS
    counts: dict[tuple[bool, Status], int] = {}
    for c in checks:
        key = (c.required or c.status is Status.PASS, c.status)  # a pass is a pass
        counts[key] = counts.get(key, 0) + 1
    parts = []
    for required in (True, False):
        for status, word in _TALLY_WORDS.items():
            if count := counts.get((required, status)):
                optional = "" if required else " (not required)"
                parts.append(f"{count} {word}{optional}")
    return ", ".join(parts)


STATUS_COLOURS = {Status.PASS: "#d4edda", Status.FAIL: "#f8d7da", Status.NO_DATA: "#fff3cd"}


def checks_frame(checks: list[Check]) -> pd.DataFrame:
    """The checks as a DataFrame, one row per check (the verdict table)."""
    import pandas as pd

    columns = ["name", "status", "observed", "threshold", "unit", "required", "detail"]
    rows = [{**c.model_dump(mode="json"), "status": c.status.value} for c in checks]
    return pd.DataFrame(rows, columns=columns)


def styled_table(checks: list[Check]) -> Styler:
    """The verdict table coloured by status (pass green, fail red, no data amber)."""
    frame = checks_frame(checks)
    colours = {s.value: c for s, c in STATUS_COLOURS.items()}

    def row_style(row: pd.Series) -> list[str]:
        return [f"background-color: {colours[row['status']]}"] * len(row)

    return frame.style.apply(row_style, axis=1).hide(axis="index")


def failure_summary(checks: list[Check]) -> str:
    """One line per blocking check: what was observed against which threshold."""
    if not checks:
        return f"{NO_CHECKS}: the runbook verified nothing"
    lines = []
    for c in failing(checks):
        observed = "no data" if c.status is Status.NO_DATA else f"observed {c.observed}{c.unit}"
        threshold = f", threshold {c.threshold}" if c.threshold else ""
        detail = f" ({c.detail})" if c.detail else ""
        lines.append(f"{c.name}: {c.status.value}, {observed}{threshold}{detail}")
    return "\n".join(lines)


def failure_reason(checks: list[Check]) -> str:
    """Why a verdict fails: no checks at all, or each required check that did not pass."""
    if not checks:
        return failure_summary(checks)
    return "required checks did not pass:\n" + failure_summary(checks)


def raise_if_failed(checks: list[Check]) -> None:
    """Raise VerdictFailed when there are no checks or a required check failed or had no data."""
    if not passes(checks):
        raise VerdictFailed(failure_reason(checks))
