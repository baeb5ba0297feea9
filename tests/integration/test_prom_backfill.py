"""rollbook.prom against a Prometheus seeded with 7 days of history (promtool backfill)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from _promserver import METRIC, SCRAPE_STEP, fixture_value, private_port, seeded_prometheus

from rollbook.prom.catalog import concepts
from rollbook.prom.client import (
    PromClient,
    PrometheusQueryError,
    PrometheusUnreachable,
    plan_chunks,
)
from rollbook.prom.dashboard import panels
from rollbook.prom.params import Slo
from rollbook.prom.slo import check_slo, compare_windows
from rollbook.prom.window import Window
from rollbook.verdict import Status

PORT = private_port(0)  # and PORT + 1, where nothing listens


@pytest.fixture(scope="module")
def prom():
    with seeded_prometheus(PORT, days=7, series=3) as server:
        yield server


@pytest.fixture(scope="module")
def client(prom) -> PromClient:
    return PromClient(prom.url)


def test_week_at_15s_in_concurrent_chunks_equals_small_windows(prom, client) -> None:
    week = Window(prom.start, prom.end)
    step = timedelta(seconds=SCRAPE_STEP)
    assert len(plan_chunks(week, step)) == 5  # 40,321 points per series: over the 11,000 limit

    chunked = client.range(METRIC, week, step="15s")

    pieces = []
    for start, end in plan_chunks(week, step, chunk_points=2_000):
        window = (datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC))
        pieces.append(client.api.custom_query_range(METRIC, *window, step="15s"))
    other_chunks = client.range(METRIC, week, step="15s", chunk_points=11_000)

    assert len(chunked) == 3 * (7 * 86400 // SCRAPE_STEP + 1)
    assert not chunked.duplicated(["series", "timestamp"]).any()
    pd.testing.assert_frame_equal(chunked, other_chunks)
    raw = sorted(
        (s["metric"]["series"], t, float(v)) for p in pieces for s in p for t, v in s["values"]
    )
    mine = sorted(
        zip(
            chunked["series"],
            chunked["timestamp"].map(lambda ts: ts.timestamp()),
            chunked["value"],
            strict=True,
        )
    )
    assert [(s, int(t), v) for s, t, v in raw] == [(s, int(t), v) for s, t, v in mine]
    sample = chunked.iloc[12345]
    assert sample["value"] == fixture_value(
        int(sample["timestamp"].timestamp()), int(sample["series"][1:])
    )


def test_step_chosen_from_window(prom, client) -> None:
    frame = client.range(METRIC, Window(prom.start, prom.end))
    assert frame.attrs["step"] == timedelta(minutes=15)  # 7 days / 1,000 points, rounded up
    assert frame.groupby("series").size().max() <= 1_000


def test_unreachable_prometheus_names_the_url() -> None:
    dead = PromClient(f"http://127.0.0.1:{PORT + 1}")
    with pytest.raises(PrometheusUnreachable, match=f"127.0.0.1:{PORT + 1}"):
        dead.range(METRIC, "last 10m")


def test_bad_query_has_prometheus_message(client) -> None:
    with pytest.raises(PrometheusQueryError, match="parse error"):
        client.instant("rate(rollbook_fixture_value[5m]")


def test_empty_selector_is_no_data(prom, client) -> None:
    window = Window(prom.end - timedelta(hours=1), prom.end)
    assert client.range('rollbook_fixture_value{series="absent"}', window).empty
    slo = Slo(concept="replica_lag_seconds", op="<", threshold=10)
    check = check_slo(client, slo, window, {"replica_lag_seconds": 'max(nothing_here{a="b"})'})
    assert check.status is Status.NO_DATA and check.blocks


def test_slo_over_window_and_before_after(prom, client) -> None:
    # fixture values cycle 0..999 every 15,000 s (+ series number): max over a day is 1001
    overrides = {"replica_lag_seconds": f"max({METRIC})"}
    day = Window(prom.end - timedelta(days=1), prom.end)
    passing = check_slo(
        client, Slo(concept="replica_lag_seconds", op="<=", threshold=1001), day, overrides
    )
    failing = check_slo(
        client, Slo(concept="replica_lag_seconds", op="<", threshold=1001), day, overrides
    )
    assert (passing.status, failing.status) == (Status.PASS, Status.FAIL)
    assert passing.observed == 1001

    # minute 0..5 of a cycle start vs minutes 60..65: values 0..22 vs 240..262 (+2)
    cycle = int(prom.end.timestamp()) // 15_000 * 15_000 - 15_000
    start = datetime.fromtimestamp(cycle, UTC)
    before = Window(start, start + timedelta(minutes=5))
    after = Window(start + timedelta(hours=1), start + timedelta(hours=1, minutes=5))
    comparison = compare_windows(client, "replica_lag_seconds", before, after, overrides)
    assert comparison.before == 22 and comparison.after == 262
    assert comparison.change == 240 and comparison.ratio == pytest.approx(262 / 22)


def test_every_catalog_query_is_valid_promql(client) -> None:
    for concept in concepts().values():
        client.instant(concept.query("1m"))
        client.instant(concept.over(timedelta(minutes=30)))


def test_every_dashboard_query_is_valid_promql(client) -> None:
    for panel in panels():
        for _legend, promql in panel.queries():
            client.instant(promql.replace("$__rate_interval", "1m"))
