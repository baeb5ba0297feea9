"""One window of one environment, reviewed: the same queries, step and rate range for
every review (the incident review and the SLO dashboard), so a concept over a window is
the same number in both.

The objectives of the params (`monitoring.slo`) are judged here from the series
themselves, independent of alerts (the Prometheus that evaluated the rules may not be the
one holding the history): each objective over the whole window, and at every moment of it,
listing each breach with its start and end.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Protocol

import pandas as pd

from rollbook.config.endpoints import PostgresEndpoint, PrometheusEndpoint, Safety
from rollbook.prom.catalog import Concept, concept
from rollbook.prom.client import PromClient
from rollbook.prom.events import flag_change_events, run_events
from rollbook.prom.params import MonitoringParams, Slo
from rollbook.prom.rules import find_alert
from rollbook.prom.slo import check_slo, with_data
from rollbook.prom.window import Window, as_window, promql_duration
from rollbook.review import sources
from rollbook.review.breaches import BREACH, breach_check, grid, spans
from rollbook.review.window import rate_range, review_step, with_context
from rollbook.verdict import Check

BREACH_COLUMNS = ["slo", "start", "end", "duration", "worst"]


class ReviewParams(Protocol):
    """The params sections a review reads (the params model has them)."""

    @property
    def primary(self) -> PostgresEndpoint: ...
    @property
    def safety(self) -> Safety: ...
    @property
    def prometheus(self) -> PrometheusEndpoint | None: ...
    @property
    def monitoring(self) -> MonitoringParams: ...


class WindowReview:
    """A window (cut to the data Prometheus holds), its step, rate range and context."""

    def __init__(
        self,
        params: ReviewParams,
        window: str | Window,
        *,
        client: PromClient | None = None,
        output_dir: Path | None = None,
        now: datetime | None = None,
    ) -> None:
        self.params = params
        self.client = client or PromClient.from_params(params)
        self.output_dir = output_dir
        self.requested = as_window(window)
        self.window = with_data(self.client, self.requested)
        self.step = review_step(self.window)
        self.rate_range = rate_range(self.step)
        self.context = with_context(self.window, self.step, now=now)
        self.slos: list[Slo] = params.monitoring.slo
        self.overrides = params.monitoring.queries
        self._frames: dict[tuple[str, bool], pd.DataFrame] = {}

    def overview(self) -> pd.DataFrame:
        """What the review covers: the window (cut to the stored data), step, rate range."""
        rows = {
            "window requested": str(self.requested),
            "window shown": str(self.window),
            "context shown": str(self.context),
            "chart step": promql_duration(self.step),
            "rate range": promql_duration(self.rate_range),
            "SLOs": "; ".join(str(slo) for slo in self.slos),
        }
        return pd.DataFrame({"": list(rows.values())}, index=list(rows))

    def measure(self, name: str) -> Concept:
        """A catalog concept with the params' query override applied."""
        return concept(name, self.overrides)

    def alert_definition(self, name: str) -> pd.DataFrame:
        """The project's rule for an alert: what it watches, when it fires, its runbook."""
        alert = find_alert(name)
        unit = self.measure(alert.concept).unit
        rows = {
            "alert": alert.name,
            "severity": alert.severity,
            "summary": alert.summary,
            "concept": alert.concept,
            "fires when": f"{alert.op} {alert.threshold:g} {unit} for {alert.for_}",
            "expr": alert.rule()["expr"],
            "runbook": alert.runbook_url,
        }
        return pd.DataFrame({"": list(rows.values())}, index=list(rows))

    def series(self, measure: Concept | str, *, context: bool = False) -> pd.DataFrame:
        """The concept over the window (or the window with its context) at the review's
        step, rates over the review's rate range (full data, not downsampled)."""
        measure = self.measure(measure) if isinstance(measure, str) else measure
        query = measure.query(self.rate_range)
        key = (query, context)
        if key not in self._frames:
            span = self.context if context else self.window
            self._frames[key] = self.client.range(query, span, step=self.step)
        return self._frames[key]

    def inside(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows of a series at the moments of the window (its range query's grid)."""
        moments = grid(self.window, self.step)  # from the whole second the window starts in
        keep = frame["timestamp"].between(moments[0], moments[-1])
        return frame[keep].reset_index(drop=True)

    def alerts(self) -> pd.DataFrame:
        """Alerts pending or firing in the window (first/last seen, active since)."""
        return sources.alerts(self.client, self.window, self.step)

    def runs(self, link_from: Path | None = None) -> pd.DataFrame:
        """Archived runs overlapping the window, with a link to each report."""
        return sources.runs(self.window, self.output_dir, link_from)

    def flag_changes(self) -> pd.DataFrame:
        """Flag changes in the window (empty, with a warning, if the primary is down)."""
        return sources.flag_changes(self.params.primary, self.params.safety, self.window)

    def events(self) -> pd.DataFrame:
        """Run starts and ends and flag changes inside the window, oldest first."""
        runs = run_events(self.window, self.output_dir)
        flags = flag_change_events(self.flag_changes(), self.window)
        frames = [f for f in (runs, flags) if not f.empty]
        if not frames:
            return flags
        return pd.concat(frames).sort_values("at", ignore_index=True)

    def slo_spans(self, slo: Slo) -> pd.DataFrame:
        """Breach, met and no-data spans of one objective over the window."""
        frame = self.inside(self.series(slo.concept, context=True))
        return spans(frame, slo, self.window, self.step)

    def slo_checks(self) -> list[Check]:
        """Each objective over the whole window (one exact query), then at every moment of
        it (each breach listed with start and end; gaps are no data)."""
        checks = []
        for slo in self.slos:
            measure = self.measure(slo.concept)
            checks.append(check_slo(self.client, slo, self.window, self.overrides))
            checks.append(breach_check(slo, measure.title, measure.unit, self.slo_spans(slo)))
        return checks

    def breaches(self) -> pd.DataFrame:
        """Every breach of every objective in the window: which, from when to when, worst."""
        parts = []
        for slo in self.slos:
            found = self.slo_spans(slo)
            parts.append(found[found["state"] == BREACH].assign(slo=str(slo)))
        if not parts:
            return pd.DataFrame(columns=BREACH_COLUMNS)
        return pd.concat(parts, ignore_index=True)[BREACH_COLUMNS]
