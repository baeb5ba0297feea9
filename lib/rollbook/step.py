"""What one runbook step hands its notebook cell: one shape for every step, so a cell is
`rb.show(result)` (`runbook.Runbook.show`) whatever the step measured."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rollbook.verdict import Check

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go


@dataclass
class StepResult:
    """A table for the reader, the checks the step concluded, charts, and JSON-ready data
    that later runs read back from results.json (key -> value under `data`)."""

    table: pd.DataFrame
    checks: list[Check] = field(default_factory=list)
    figures: list[go.Figure] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
