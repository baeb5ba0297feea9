"""Prometheus queries -> tidy DataFrames (timestamp, label columns, value).

Long windows are split into chunks on one step grid and fetched concurrently, so the
result equals what one (too large) request would return. Three outcomes are kept apart:
an unreachable server (`PrometheusUnreachable`, names the URL), a query Prometheus rejects
(`PrometheusQueryError`, with Prometheus's own message) and an empty result (an empty
DataFrame; checks turn it into `no data`, never a pass).
"""

from __future__ import annotations

import ast
import json
import math
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Concatenate, ParamSpec, Protocol, Required, TypedDict

import numpy as np
import pandas as pd
import requests
from prometheus_api_client import PrometheusApiClientException, PrometheusConnect
from urllib3.util.retry import Retry

from rollbook.duration import parse_duration
from rollbook.errors import RollbookError
from rollbook.prom.window import Window, as_window

if TYPE_CHECKING:
    from rollbook.config.endpoints import PrometheusEndpoint

# Prometheus refuses a range query with more than 11,000 points per series.
PROMETHEUS_MAX_POINTS = 11_000
CHUNK_POINTS = 10_000
DISPLAY_POINTS = 1_000
_NICE_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400]
_HTTP_ERROR = re.compile(r"HTTP Status Code (\d+) \((.*)\)$", re.DOTALL)
_Args = ParamSpec("_Args")


class Series(TypedDict, total=False):
    """One series of a Prometheus result: a `matrix` has `values`, a `vector` one `value`;
    a sample is [unix time, value as text]."""

    metric: Required[dict[str, str]]
    values: list[tuple[float, str]]
    value: tuple[float, str]


class HasPrometheus(Protocol):
    """Params with a `prometheus` section (the params model, or a feature's view of it)."""

    @property
    def prometheus(self) -> PrometheusEndpoint | None: ...


class PrometheusError(RollbookError, RuntimeError):
    """Prometheus could not answer a query."""


class PrometheusUnreachable(PrometheusError):
    """No connection to the Prometheus server."""


class PrometheusQueryError(PrometheusError):
    """Prometheus rejected the query (syntax or evaluation error)."""


def choose_step(
    window: Window, *, points: int = DISPLAY_POINTS, min_step: str | timedelta = "15s"
) -> timedelta:
    """The smallest round step giving at most `points` points over the window."""
    wanted = max(window.duration.total_seconds() / points, parse_duration(min_step).total_seconds())
    seconds = next((s for s in _NICE_STEPS if s >= wanted), math.ceil(wanted))
    return timedelta(seconds=seconds)


def plan_chunks(
    window: Window, step: timedelta, chunk_points: int = CHUNK_POINTS
) -> list[tuple[int, int]]:
    """(start, end) epoch seconds of each request; all on one grid, no point twice."""
    if not 1 <= chunk_points <= PROMETHEUS_MAX_POINTS:
        raise ValueError(f"chunk_points must be 1..{PROMETHEUS_MAX_POINTS}, got {chunk_points}")
    step_s = round(step.total_seconds())
    start = math.floor(window.start.timestamp())
    total = (math.floor(window.end.timestamp()) - start) // step_s + 1
    return [
        (start + first * step_s, start + (min(first + chunk_points, total) - 1) * step_s)
        for first in range(0, total, chunk_points)
    ]


def tidy(result: list[Series]) -> pd.DataFrame:
    """Prometheus `matrix` or `vector` results -> one row per sample."""
    parts = []
    for series in result:
        samples = np.asarray(series.get("values") or [series["value"]], dtype=float)
        part = pd.DataFrame({"timestamp": samples[:, 0], "value": samples[:, 1]})
        parts.append(part.assign(**series["metric"]))
    if not parts:
        return pd.DataFrame({"timestamp": pd.Series(dtype="datetime64[ns, UTC]"), "value": []})
    frame = pd.concat(parts, ignore_index=True)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], unit="s", utc=True)
    labels = sorted(c for c in frame.columns if c not in ("timestamp", "value"))
    frame = frame[["timestamp", *labels, "value"]]
    return frame.sort_values([*labels, "timestamp"], ignore_index=True)


def label_columns(frame: pd.DataFrame) -> list[str]:
    """The label columns of a tidy frame."""
    return [c for c in frame.columns if c not in ("timestamp", "value")]


class PromClient:
    """A Prometheus server, queried through prometheus-api-client."""

    def __init__(
        self,
        url: str,
        *,
        bearer_token: str | None = None,
        timeout: float = 30,
        workers: int = 4,
    ) -> None:
        self.url = url.rstrip("/")
        self.workers = workers
        headers = {"Authorization": f"Bearer {bearer_token}"} if bearer_token else None
        retry = Retry(total=2, backoff_factor=0.2, status_forcelist=[502, 503, 504])
        self.api = PrometheusConnect(self.url, headers=headers, retry=retry, timeout=timeout)

    @classmethod
    def from_params(
        cls, params: HasPrometheus, *, timeout: float = 30, workers: int = 4
    ) -> PromClient:
        """From a validated `Params` (its `prometheus` section)."""
        if params.prometheus is None:
            raise PrometheusError("params have no `prometheus` section (url of the server)")
        token = params.prometheus.bearer_token
        return cls(
            params.prometheus.url,
            bearer_token=token.resolve() if token else None,
            timeout=timeout,
            workers=workers,
        )

    def _call(
        self,
        query: str,
        fn: Callable[Concatenate[str, _Args], list[Series]],
        *args: _Args.args,
        **kwargs: _Args.kwargs,
    ) -> list[Series]:
        try:
            return fn(query, *args, **kwargs)
        except requests.exceptions.RequestException as exc:
            raise PrometheusUnreachable(
                f"Prometheus at {self.url} is unreachable: {type(exc).__name__}"
            ) from None
        except PrometheusApiClientException as exc:
            status, message = _http_error(str(exc))
            if status in (400, 422):
                raise PrometheusQueryError(
                    f"Prometheus at {self.url} rejected the query {query!r}: {message}"
                ) from None
            raise PrometheusError(
                f"Prometheus at {self.url} answered HTTP {status} to {query!r}: {message}"
            ) from None

    def instant(self, query: str, at: datetime | None = None) -> pd.DataFrame:
        """Evaluate `query` at one moment (default: now)."""
        params = {"time": at.timestamp()} if at else None
        frame = tidy(self._call(query, self.api.custom_query, params=params))
        frame.attrs["query"] = query
        return frame

    def range(
        self,
        query: str,
        window: Window | str | tuple[datetime, datetime],
        *,
        step: str | timedelta | None = None,
        points: int = DISPLAY_POINTS,
        chunk_points: int = CHUNK_POINTS,
    ) -> pd.DataFrame:
        """Evaluate `query` over a window; the step is chosen from the window unless given."""
        window = as_window(window)
        step = parse_duration(step) if step is not None else choose_step(window, points=points)
        if step.total_seconds() < 1 or step.total_seconds() % 1:
            raise ValueError(f"step must be a whole number of seconds, got {step}")
        chunks = plan_chunks(window, step, chunk_points)
        step_s = f"{round(step.total_seconds())}s"

        def fetch(chunk: tuple[int, int]) -> list[Series]:
            start, end = (datetime.fromtimestamp(t, UTC) for t in chunk)
            return self._call(query, self.api.custom_query_range, start, end, step_s)

        with ThreadPoolExecutor(max_workers=min(self.workers, len(chunks))) as pool:
            results = list(pool.map(fetch, chunks))
        frame = tidy([series for result in results for series in result])
        frame.attrs.update(query=query, step=step, window=window)
        return frame


def _http_error(text: str) -> tuple[int | None, str]:
    """Status and Prometheus's `error` field out of prometheus-api-client's exception text."""
    match = _HTTP_ERROR.search(text)
    if not match:
        return None, text
    status, body = int(match.group(1)), match.group(2)
    try:
        raw = ast.literal_eval(body)
        payload = json.loads(raw.decode() if isinstance(raw, bytes) else raw)
        return status, payload.get("error", body)
    except (ValueError, SyntaxError, AttributeError):
        return status, body
