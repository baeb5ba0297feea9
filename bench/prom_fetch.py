"""Fetch 7 days x 20 series at 15 s from a backfilled Prometheus: rollbook vs prometheus-api-client.

Baseline: prometheus-api-client's own range helper, `get_metric_range_data(chunk_size=1 day)`
(sequential chunks of raw samples), then its `MetricRangeDataFrame`.
Measured: `PromClient.range(step="15s")` (step-grid chunks fetched concurrently), whose
frame building is `tidy`. Fetching and frame building are timed apart (best of each), so
each ratio says what it credits. Both run against the same throwaway Prometheus.

    .venv/bin/python bench/prom_fetch.py [--port 57205] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import timedelta
from pathlib import Path
from unittest.mock import patch

from prometheus_api_client import MetricRangeDataFrame

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))
from _promserver import METRIC, seeded_prometheus  # noqa: E402

from rollbook.prom import client as prom_client  # noqa: E402
from rollbook.prom.client import PromClient  # noqa: E402
from rollbook.prom.window import Window  # noqa: E402


def best_of(repeat: int, run) -> tuple[dict[str, float], object]:
    """`run()` gives ({part: seconds}, result); the best time of each part over `repeat`
    runs, and the last result."""
    best: dict[str, float] = {}
    for _ in range(repeat):
        parts, result = run()
        best = {part: min(seconds, best.get(part, seconds)) for part, seconds in parts.items()}
    return best, result


def timed(fn):
    """(seconds `fn()` took, its result)."""
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=57205)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with seeded_prometheus(args.port, days=7, series=20) as prom:
        client = PromClient(prom.url)
        window = Window(prom.start, prom.end)

        def baseline():
            fetch_s, raw = timed(
                lambda: client.api.get_metric_range_data(
                    METRIC, start_time=prom.start, end_time=prom.end, chunk_size=timedelta(days=1)
                )
            )
            frame_s, frame = timed(lambda: MetricRangeDataFrame(raw))
            return {"fetch": fetch_s, "frame": frame_s}, frame

        def rollbook():
            frames: list[float] = []
            real_tidy = prom_client.tidy

            def timed_tidy(result):
                seconds, frame = timed(lambda: real_tidy(result))
                frames.append(seconds)
                return frame

            with patch.object(prom_client, "tidy", timed_tidy):
                total_s, frame = timed(lambda: client.range(METRIC, window, step="15s"))
            return {"fetch": total_s - sum(frames), "frame": sum(frames)}, frame

        base_s, base = best_of(args.repeat, baseline)
        ours_s, ours = best_of(args.repeat, rollbook)
    print(f"series x days x step : 20 x 7 x 15s (best of {args.repeat} for each part)")
    print(f"{'':54}{'fetch':>9}{'frame':>9}{'total':>9}{'rows':>12}")
    for name, parts, frame in (
        ("get_metric_range_data(chunk 1d) + MetricRangeDataFrame", base_s, base),
        ("rollbook PromClient.range (concurrent chunks) + tidy", ours_s, ours),
    ):
        total = parts["fetch"] + parts["frame"]
        print(f"{name:54}{parts['fetch']:>8.2f}s{parts['frame']:>8.2f}s{total:>8.2f}s"
              f"{len(frame):>12,}")  # fmt: skip
    duplicates = int(base.reset_index().duplicated().sum())
    print(f"baseline rows repeated at chunk boundaries: {duplicates:,}")
    ratios = {part: base_s[part] / ours_s[part] for part in ("fetch", "frame")}
    print(f"ratio baseline / rollbook: fetch {ratios['fetch']:.2f}x, frame {ratios['frame']:.2f}x,"
          f" total {sum(base_s.values()) / sum(ours_s.values()):.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
