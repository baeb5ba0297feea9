"""A throwaway Prometheus 2.42 seeded with deterministic history (promtool backfill).

Series `rollbook_fixture_value{series="sNN"}` hold `(t / 15) % 1000 + NN` sampled every 15 s
over `days` days that end at `end` (a whole hour). No scrape targets: the data never changes.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

SCRAPE_STEP = 15
METRIC = "rollbook_fixture_value"


def fixture_value(t: int, series: int) -> float:
    return float((t // SCRAPE_STEP) % 1000 + series)


@dataclass
class SeededPrometheus:
    url: str
    start: datetime
    end: datetime
    series: int


def _write_openmetrics(path: Path, start: int, end: int, series: int) -> None:
    with path.open("w") as out:
        out.write(f"# TYPE {METRIC} gauge\n")
        for n in range(series):
            out.writelines(
                f'{METRIC}{{series="s{n:02d}"}} {fixture_value(t, n)} {t}\n'
                for t in range(start, end + 1, SCRAPE_STEP)
            )
        out.write("# EOF\n")


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
def seeded_prometheus(port: int, *, days: int = 7, series: int = 3) -> Iterator[SeededPrometheus]:
    """Backfill `days` of history, start Prometheus on 127.0.0.1:`port`, stop it afterwards."""
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    start = end - timedelta(days=days)
    root = Path(tempfile.mkdtemp(prefix="rollbook-prom-", dir="/var/tmp"))
    data = root / "data"
    source = root / "history.om"
    _write_openmetrics(source, int(start.timestamp()), int(end.timestamp()), series)
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
        yield SeededPrometheus(url=url, start=start, end=end, series=series)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(root, ignore_errors=True)
