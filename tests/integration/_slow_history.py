"""An hour of chat-service history for a backfilled Prometheus: 20 req/s of `history`
requests, with p95 0.24 s for 20 minutes, then 0.9 s for 20 minutes, then 0.24 s again.
No `ALERTS` series: the Prometheus that evaluated the rules was not this one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TextIO

from rollbook.prom.window import Window

SCRAPE = 15
PER_SCRAPE = 300  # 20 req/s
BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5)
# share of the requests of one scrape by bucket (upper bound)
NORMAL = {0.25: 1.0}  # p95 = 0.1 + 0.15 * 0.95 = 0.2425 s
SLOW = {0.5: 0.75, 1.0: 0.25}  # p95 = 0.5 + 0.5 * (0.95 - 0.75) / 0.25 = 0.9 s
SLOW_P95 = 0.9
LABELS = 'endpoint="history"'
OBJECTIVES = ["history_latency_p95_seconds <= 350ms", "throughput_rps >= 15", "error_ratio < 1%"]


@dataclass(frozen=True)
class SlowHour:
    """The hour of history and its slow middle third (the window under review)."""

    start: datetime
    end: datetime
    slow: Window

    @classmethod
    def ending_before(cls, now: datetime) -> SlowHour:
        end = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
        start = end - timedelta(hours=1)
        return cls(start, end, Window(start + timedelta(minutes=20), start + timedelta(minutes=40)))

    @classmethod
    def now(cls) -> SlowHour:
        return cls.ending_before(datetime.now(UTC))

    def write(self, out: TextIO) -> None:
        """The history as OpenMetrics (a histogram and a request counter)."""
        first, last = int(self.start.timestamp()), int(self.end.timestamp())
        slow_from, slow_to = int(self.slow.start.timestamp()), int(self.slow.end.timestamp())
        counts = dict.fromkeys(BUCKETS, 0.0)
        total = seconds = 0.0
        histogram, requests = [], []
        for t in range(first, last + 1, SCRAPE):
            if t > first:  # the requests of the 15 s before t
                shares = SLOW if slow_from < t <= slow_to else NORMAL
                for le in BUCKETS:
                    counts[le] += PER_SCRAPE * sum(s for b, s in shares.items() if b <= le)
                total += PER_SCRAPE
                seconds += PER_SCRAPE * sum(b * s for b, s in shares.items())
            name = "chat_request_duration_seconds"
            histogram += [f'{name}_bucket{{{LABELS},le="{le:g}"}} {counts[le]:g} {t}\n'
                          for le in BUCKETS]  # fmt: skip
            histogram += [
                f'{name}_bucket{{{LABELS},le="+Inf"}} {total:g} {t}\n',
                f"{name}_count{{{LABELS}}} {total:g} {t}\n",
                f"{name}_sum{{{LABELS}}} {seconds:g} {t}\n",
            ]
            requests.append(f'chat_requests_total{{{LABELS},outcome="ok"}} {total:g} {t}\n')
        out.write("# TYPE chat_request_duration_seconds histogram\n")
        out.writelines(histogram)
        out.write("# TYPE chat_requests counter\n")
        out.writelines(requests)


def params_yaml(prometheus_url: str) -> str:
    """Params for the backfilled server; nothing listens on the primary's port (port 1)."""
    slos = "".join(f"    - {o}\n" for o in OBJECTIVES)
    return (
        "environment: backfill\n"
        "primary: {host: 127.0.0.1, port: 1, dbname: chat, user: chat}\n"
        f"prometheus: {{url: {prometheus_url}}}\n"
        f"monitoring:\n  slo:\n{slos}"
    )
