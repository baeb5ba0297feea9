"""`rollbook lab up | down | status | reset`: the whole embedded stack, idempotent."""

from __future__ import annotations

import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests

from rollbook.flags import FlagStore
from rollbook.lab import orphans, process
from rollbook.lab.layout import ADMIN_USER, APP_USER, LabLayout, LabNotFound, default_lab_dir
from rollbook.lab.postgres import (
    PostgresInstance,
    create_roles_and_database,
    init_primary,
    make_replica,
    scram_secrets,
)
from rollbook.lab.seed import seed
from rollbook.lab.services import (
    build_services,
    write_pgbouncer_config,
    write_pgbouncer_exporter_config,
    write_prometheus_config,
)

SEEDED_MARKER = "seeded"
Progress = Callable[[str], None]


@dataclass
class ServiceStatus:
    name: str
    pid: int | None
    port: int
    healthy: bool


def _new_state_dir(lab_dir: Path) -> Path:
    """Where PostgreSQL's files live: inside the lab unless we are root.

    As root the data must belong to the unprivileged user and every parent directory
    must be traversable by it; a checkout under /root is not, so use a fresh directory
    under /var/tmp (see `orphans`).
    """
    if not process.running_as_root():
        return lab_dir / "state"
    return orphans.new_state_dir()


class Lab:
    """One lab: its layout on disk and its services."""

    def __init__(self, layout: LabLayout):
        self.layout = layout
        if layout.state_dir is None:
            layout.state_dir = _new_state_dir(layout.dir)
        self.primary = PostgresInstance(layout, "primary")
        self.replica = PostgresInstance(layout, "replica")
        self.services = build_services(layout)

    @classmethod
    def open(cls, lab_dir: Path | None = None, **settings) -> Lab:
        """The lab in `lab_dir` as last configured; settings given here win."""
        try:
            layout = LabLayout.load(lab_dir)
            if settings:
                layout = LabLayout(layout.dir, state_dir=layout.state_dir, **settings)
        except LabNotFound:
            layout = LabLayout(Path(lab_dir) if lab_dir else default_lab_dir(), **settings)
        return cls(layout)

    # ---- set-up -------------------------------------------------------------------------
    def _prepare_dirs(self) -> None:
        lay = self.layout
        for sub in ("run", "logs", "config", "secrets"):
            (lay.dir / sub).mkdir(parents=True, exist_ok=True)
        (lay.dir / "secrets").chmod(0o700)
        lay.state_path.mkdir(parents=True, exist_ok=True)
        lay.state_path.chmod(0o700)
        process.chown_to_service_user(lay.state_path)
        (lay.state_path / "logs").mkdir(exist_ok=True)
        orphans.record_owner(lay)
        process.chown_to_service_user(lay.state_path / "logs")
        for role in ("app", "admin", "replication"):
            path = lay.secret_file(role)
            if not path.exists():
                path.touch(mode=0o600)
                path.write_text(secrets.token_urlsafe(24) + "\n")
        pgpass = lay.dir / "secrets" / "pgpass"
        pgpass.touch(mode=0o600)
        pgpass.write_text(
            "".join(
                f"127.0.0.1:*:*:{user}:{lay.secret_file(role).read_text().strip()}\n"
                for user, role in ((APP_USER, "app"), (ADMIN_USER, "admin"))
            )
        )
        lay.save()

    def _postgres_up(self, say: Progress) -> None:
        if not self.primary.exists:
            say("initdb primary")
            init_primary(self.primary)
        self.primary.start()
        marker = self.layout.dir / SEEDED_MARKER
        if not marker.exists():
            create_roles_and_database(self.primary)
            say(f"seeding {self.layout.seed_messages:,} messages")
            with self.primary.connect(as_app=True) as conn:
                report = seed(conn, self.layout.seed_messages, say)
                FlagStore(conn).ensure_schema()
            say(
                f"seeded {report.messages:,} messages in {report.load_seconds:.1f} s "
                f"({report.rows_per_second:,.0f} rows/s; keys and stats "
                f"{report.total_seconds - report.load_seconds:.1f} s)"
            )
            marker.write_text(f"{report.messages}\n")
            if self.replica.exists:  # a replica of the unseeded primary is useless
                self.replica.stop()
                shutil.rmtree(self.replica.data)
        if not self.replica.exists:
            say("pg_basebackup replica")
            make_replica(self.primary, self.replica)
        self.replica.start()

    def up(self, say: Progress = print) -> list[ServiceStatus]:
        """Start whatever is not running; create and seed what does not exist."""
        started = time.perf_counter()
        self._prepare_dirs()
        self._postgres_up(say)
        write_pgbouncer_config(
            self.layout, self.primary, scram_secrets(self.primary, [APP_USER, ADMIN_USER])
        )
        write_pgbouncer_exporter_config(self.layout)
        write_prometheus_config(self.layout)
        for service in self.services:
            if not service.healthy():
                say(f"starting {service.name}")
                service.start()
            elif service.name == "prometheus":  # a running one re-reads config and rules
                requests.post(f"http://127.0.0.1:{service.port}/-/reload", timeout=10)
        say(f"lab up in {time.perf_counter() - started:.1f} s")
        return self.status()

    def wait_for_monitoring(self, warm_up_seconds: int = 20, timeout: float = 90) -> None:
        """Every Prometheus target up, and some workload history to compare against."""
        api = f"http://127.0.0.1:{self.layout.ports['prometheus']}/api/v1"
        history = f"count_over_time(chat_requests_total[{warm_up_seconds}s])"

        def ready() -> bool:
            try:
                targets = requests.get(f"{api}/targets", timeout=5).json()["data"]
                samples = requests.get(f"{api}/query", params={"query": history}, timeout=5)
                result = samples.json()["data"]["result"]
            except (requests.RequestException, KeyError, ValueError):
                return False
            up = [t["health"] == "up" for t in targets["activeTargets"]]
            warmed = any(float(s["value"][1]) >= warm_up_seconds / 2 - 1 for s in result)
            return bool(up) and all(up) and warmed

        process.wait_for(ready, timeout, "Prometheus targets and workload history", interval=1)

    # ---- inspection and tear-down ---------------------------------------------------------
    def status(self) -> list[ServiceStatus]:
        rows = []
        for pg in (self.primary, self.replica):
            pid = pg.pid()
            rows.append(
                ServiceStatus(
                    f"postgres-{pg.role}", pid, pg.port, bool(pid) and process.port_open(pg.port)
                )
            )
        for service in self.services:
            pid = service.pid()
            rows.append(ServiceStatus(service.name, pid, service.port, service.healthy()))
        return rows

    def down(self, say: Progress = print) -> None:
        """Stop only the processes this lab started (pid files)."""
        for service in reversed(self.services):
            if service.pid():
                say(f"stopping {service.name}")
            service.stop()
        for pg in (self.replica, self.primary):
            if pg.pid():
                say(f"stopping postgres-{pg.role}")
            pg.stop()

    def destroy(self, say: Progress = print) -> None:
        """Stop everything and delete the lab's files (data, secrets, logs)."""
        self.down(say)
        for path in (self.layout.state_path, self.layout.dir):
            if path.exists():
                say(f"removing {path}")
                shutil.rmtree(path)
