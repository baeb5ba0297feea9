"""Fetch 7 days x 20 series at 15 s from a backfilled Prometheus: rollbook vs prometheus-api-client.

Baseline: prometheus-api-client's own range helper, `get_metric_range_data(chunk_size=1 day)`
(sequential chunks of raw samples) turned into a DataFrame with its `MetricRangeDataFrame`.
Measured: `PromClient.range(step="15s")` (step-grid chunks fetched concurrently, tidy frame).
Both run against the same throwaway Prometheus in the same run; prints the time ratio.

    .venv/bin/python bench/prom_fetch.py [--port 57205] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import timedelta
from pathlib import Path

from prometheus_api_client import MetricRangeDataFrame

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))
from _promserver import METRIC, seeded_prometheus  # noqa: E402

from rollbook.prom.client import PromClient  # noqa: E402
from rollbook.prom.window import Window  # noqa: E402


def best_of(repeat: int, fn):
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=57205)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with seeded_prometheus(args.port, days=7, series=20) as prom:
        client = PromClient(prom.url)
        window = Window(prom.start, prom.end)

        def baseline():
            raw = client.api.get_metric_range_data(
                METRIC, start_time=prom.start, end_time=prom.end, chunk_size=timedelta(days=1)
            )
            return MetricRangeDataFrame(raw)

        base_s, base = best_of(args.repeat, baseline)
        ours_s, ours = best_of(args.repeat, lambda: client.range(METRIC, window, step="15s"))
    print(f"series x days x step : 20 x 7 x 15s (best of {args.repeat})")
    print(f"get_metric_range_data(chunk_size=1d) + MetricRangeDataFrame: {base_s:.2f} s, "
          f"{len(base):,} rows")  # fmt: skip
    print(f"rollbook PromClient.range (concurrent chunks):               {ours_s:.2f} s, "
          f"{len(ours):,} rows")  # fmt: skip
    duplicates = int(base.reset_index().duplicated().sum())
    print(f"baseline rows repeated at chunk boundaries: {duplicates:,}")
    print(f"ratio baseline / rollbook: {base_s / ours_s:.2f}x")


if __name__ == "__main__":
    main()
