"""A throwaway Prometheus 2.42 seeded with deterministic history (promtool backfill).

`backfilled_prometheus` serves any OpenMetrics history a test writes. In `seeded_prometheus`,
series `rollbook_fixture_value{series="sNN"}` hold `(t / 15) % 1000 + NN` sampled every 15 s
over `days` days that end at `end` (a whole hour). No scrape targets: the data never changes.
Ports come from the test session's port base (`ROLLBOOK_TEST_PORT_BASE`, the lab uses
base+0..9), so two sessions on one machine never collide, and stay below the ephemeral range.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

import requests

SCRAPE_STEP = 15
METRIC = "rollbook_fixture_value"
# Offsets from the port base for private Prometheus servers (the lab uses base+0..9).
_PRIVATE_PORTS = 50


def private_port(offset: int) -> int:
    """A port for a test's private server: the session's port base + 50 + `offset`."""
    return int(os.environ.get("ROLLBOOK_TEST_PORT_BASE", "26400")) + _PRIVATE_PORTS + offset


def fixture_value(t: int, series: int) -> float:
    return float((t // SCRAPE_STEP) % 1000 + series)


@dataclass
class SeededPrometheus:
    url: str
    start: datetime
    end: datetime
    series: int = 0


def _write_openmetrics(out: TextIO, start: int, end: int, series: int) -> None:
    out.write(f"# TYPE {METRIC} gauge\n")
    for n in range(series):
        out.writelines(
            f'{METRIC}{{series="s{n:02d}"}} {fixture_value(t, n)} {t}\n'
            for t in range(start, end + 1, SCRAPE_STEP)
        )


def _wait_ready(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"prometheus exited with code {proc.returncode}")
        try:
            if requests.get(f"{url}/-/ready", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"prometheus at {url} not ready after {timeout}s")


@contextmanager
def backfilled_prometheus(
    port: int, write: Callable[[TextIO], None], *, start: datetime, end: datetime
) -> Iterator[SeededPrometheus]:
    """Backfill what `write` writes (OpenMetrics, without `# EOF`), start Prometheus on
    127.0.0.1:`port` over it, stop it and delete its data afterwards."""
    root = Path(tempfile.mkdtemp(prefix="rollbook-prom-", dir="/var/tmp"))
    data = root / "data"
    source = root / "history.om"
    with source.open("w") as out:
        write(out)
        out.write("# EOF\n")
    subprocess.run(
        ["promtool", "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=24h"]
        + [str(source), str(data)],
        check=True,
        capture_output=True,
    )
    source.unlink()
    config = root / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 15s\n")
    url = f"http://127.0.0.1:{port}"
    log = (root / "prometheus.log").open("w")
    proc = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={config}",
            f"--storage.tsdb.path={data}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--storage.tsdb.retention.time=30d",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_ready(url, proc)
        yield SeededPrometheus(url=url, start=start, end=end)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def seeded_prometheus(port: int, *, days: int = 7, series: int = 3) -> Iterator[SeededPrometheus]:
    """Backfill `days` of the fixture series, start Prometheus on 127.0.0.1:`port`."""
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    start = end - timedelta(days=days)

    def write(out: TextIO) -> None:
        _write_openmetrics(out, int(start.timestamp()), int(end.timestamp()), series)

    with backfilled_prometheus(port, write, start=start, end=end) as server:
        server.series = series
        yield server
