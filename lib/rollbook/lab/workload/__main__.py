"""`python -m rollbook.lab.workload --lab-dir DIR`: run the reference chat workload."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

import click
from prometheus_client import REGISTRY, start_http_server

from rollbook.lab.layout import LabLayout
from rollbook.lab.workload.metrics import WorkloadMetrics
from rollbook.lab.workload.service import DEFAULT_RATES, Workload, WorkloadConfig


async def _main(layout: LabLayout, config: WorkloadConfig) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await Workload(layout, config, WorkloadMetrics(REGISTRY)).run(stop)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--lab-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="lab directory (lab.json); default $ROLLBOOK_LAB_DIR, else .lab",
)
@click.option(
    "--metrics-port",
    type=int,
    default=None,
    help="Prometheus metrics port; default the lab's workload port",
)
@click.option(
    "--history-rate",
    type=float,
    default=DEFAULT_RATES["history"],
    show_default=True,
    help="history requests/s (flag workload.rate.history overrides)",
)
@click.option("--send-rate", type=float, default=DEFAULT_RATES["send"], show_default=True)
@click.option(
    "--conversations-rate", type=float, default=DEFAULT_RATES["conversations"], show_default=True
)
@click.option("--fixed-schedule", is_flag=True, help="fixed gaps instead of Poisson arrivals")
@click.option(
    "--max-in-flight",
    type=int,
    default=200,
    show_default=True,
    help="per endpoint; arrivals over it are error outcomes",
)
@click.option("--request-timeout", type=float, default=5.0, show_default=True)
@click.option(
    "--pool-size",
    type=int,
    default=8,
    show_default=True,
    help="connections per pool (primary, replica, pgbouncer)",
)
@click.option(
    "--hot-share",
    type=click.FloatRange(0, 1),
    default=0.5,
    show_default=True,
    help="share of requests on the largest conversations",
)
@click.option("--cache-ttl", type=int, default=30, show_default=True)
@click.option("--seed", type=int, default=None, help="random seed (reproducible traffic)")
def main(lab_dir: Path | None, metrics_port: int | None, **options) -> None:
    """Run the reference chat workload against a lab until SIGTERM."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    layout = LabLayout.load(lab_dir)
    config = WorkloadConfig(
        rates={e: options.pop(f"{e}_rate") for e in ("history", "send", "conversations")},
        poisson=not options.pop("fixed_schedule"),
        request_timeout_seconds=options.pop("request_timeout"),
        cache_ttl_seconds=options.pop("cache_ttl"),
        **options,
    )
    port = metrics_port or layout.ports["workload"]
    server, _thread = start_http_server(port, addr="127.0.0.1")
    logging.getLogger("rollbook.workload").info("metrics on http://127.0.0.1:%d/metrics", port)
    try:
        asyncio.run(_main(layout, config))
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
