"""The lab's services other than PostgreSQL: how each is configured, started and checked."""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from rollbook import resources
from rollbook.lab import process
from rollbook.lab.layout import ADMIN_USER, APP_USER, DATABASE, LabLayout
from rollbook.lab.postgres import PostgresInstance

MONITORING_DIR = resources.folder("monitoring")
SCRAPE_INTERVAL = "2s"


@dataclass
class Service:
    """A process the lab starts itself, tracked by a pid file in the lab directory."""

    name: str
    port: int
    command: list[str]
    layout: LabLayout
    env: dict[str, str] = field(default_factory=dict)

    @property
    def pidfile(self) -> Path:
        return self.layout.dir / "run" / f"{self.name}.pid"

    @property
    def log(self) -> Path:
        return self.layout.dir / "logs" / f"{self.name}.log"

    def pid(self) -> int | None:
        return process.read_pid(self.pidfile)

    def healthy(self) -> bool:
        return self.pid() is not None and process.port_open(self.port)

    def start(self) -> None:
        if self.healthy():
            return
        if pid := self.pid():  # alive but not answering: restart it
            process.stop_pid(pid)
        process.spawn(self.command, pidfile=self.pidfile, log=self.log, env=self.env)
        process.wait_for(
            lambda: process.port_open(self.port) or not self.pid(), 30, f"{self.name} to listen"
        )
        if not self.pid():
            raise RuntimeError(f"{self.name} exited at start; see {self.log}")

    def stop(self) -> None:
        if pid := self.pid():
            process.stop_pid(pid)
        self.pidfile.unlink(missing_ok=True)


class PgBouncerService(Service):
    """PgBouncer daemonises itself (as the unprivileged user) and writes its own pid file."""

    @property
    def pidfile(self) -> Path:
        return self.layout.state_path / "pgbouncer" / "pgbouncer.pid"

    def start(self) -> None:
        if self.healthy():
            return
        self.pidfile.unlink(missing_ok=True)
        process.run(self.command, unprivileged=True)
        process.wait_for(lambda: process.port_open(self.port), 15, "pgbouncer to listen")


def write_pgbouncer_config(layout: LabLayout, primary: PostgresInstance, secrets: dict) -> Path:
    """pgbouncer.ini + auth_file with SCRAM verifiers (never plain passwords)."""
    home = layout.state_path / "pgbouncer"
    home.mkdir(exist_ok=True)
    process.chown_to_service_user(home)
    userlist = home / "userlist.txt"
    userlist.write_text("".join(f'"{user}" "{secret}"\n' for user, secret in secrets.items()))
    ini = home / "pgbouncer.ini"
    ini.write_text(
        f"""[databases]
{DATABASE} = host=127.0.0.1 port={primary.port} dbname={DATABASE}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {layout.ports["pgbouncer"]}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = {userlist}
admin_users = {ADMIN_USER}
stats_users = {APP_USER}
pool_mode = transaction
default_pool_size = {layout.pool_size}
max_client_conn = {layout.max_client_conn}
server_reset_query =
ignore_startup_parameters = extra_float_digits
application_name_add_host = 0
logfile = {layout.state_path / "logs" / "pgbouncer.log"}
pidfile = {home / "pgbouncer.pid"}
"""
    )
    for path in (userlist, ini):
        path.chmod(0o600)
        process.chown_to_service_user(path)
    return ini


def _exporter_config_path(layout: LabLayout) -> Path:
    return layout.dir / "config" / "pgbouncer-exporter.yml"


def write_pgbouncer_exporter_config(layout: LabLayout) -> Path:
    path = _exporter_config_path(layout)
    config = {
        "exporter_host": "127.0.0.1",
        "exporter_port": layout.ports["pgbouncer_exporter"],
        "pgbouncers": [
            {
                # no password here: libpq reads it from PGPASSFILE
                "dsn": f"postgresql://{APP_USER}@127.0.0.1:{layout.ports['pgbouncer']}/pgbouncer",
                "exclude_databases": ["pgbouncer"],
            }
        ],
    }
    path.write_text(yaml.safe_dump(config))
    return path


def write_prometheus_config(layout: LabLayout) -> Path:
    path = layout.dir / "config" / "prometheus.yml"
    jobs = {
        "postgres_primary": "postgres_exporter_primary",
        "postgres_replica": "postgres_exporter_replica",
        "pgbouncer": "pgbouncer_exporter",
        "redis": "redis_exporter",
        "workload": "workload",
        "prometheus": "prometheus",
    }
    config = {
        "global": {
            "scrape_interval": SCRAPE_INTERVAL,
            "evaluation_interval": SCRAPE_INTERVAL,
            "external_labels": {"environment": "lab"},
        },
        "rule_files": [str(MONITORING_DIR / "prometheus" / "*.rules.yml")],
        "scrape_configs": [
            {
                "job_name": job,
                "static_configs": [{"targets": [f"127.0.0.1:{layout.ports[port]}"]}],
            }
            for job, port in jobs.items()
        ],
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _postgres_exporter(layout: LabLayout, role: str) -> Service:
    port = layout.ports[f"postgres_exporter_{role}"]
    command = [
        "prometheus-postgres-exporter",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    queries = MONITORING_DIR / "postgres_exporter" / "queries.yaml"
    if queries.exists():
        command.append(f"--extend.query-path={queries}")
    env = {
        "DATA_SOURCE_URI": f"127.0.0.1:{layout.ports[role]}/{DATABASE}?sslmode=disable",
        "DATA_SOURCE_USER": APP_USER,
        "DATA_SOURCE_PASS_FILE": str(layout.secret_file("app")),
    }
    return Service(f"postgres-exporter-{role}", port, command, layout, env)


def pgbouncer_exporter() -> str:
    """The PgBouncer exporter: a checkout's own virtualenv (`make`), else the one on PATH."""
    checkout = resources.checkout()
    if checkout is not None:
        return str(checkout / ".venv-pgbouncer-exporter" / "bin" / "pgbouncer-exporter")
    return shutil.which("pgbouncer-exporter") or "pgbouncer-exporter"


def build_services(layout: LabLayout) -> list[Service]:
    """Every non-PostgreSQL service of the lab, in start order."""
    state = layout.state_path
    ports = layout.ports
    pgbouncer_ini = state / "pgbouncer" / "pgbouncer.ini"
    redis = shutil.which("redis-server") or "redis-server"
    return [
        PgBouncerService(
            "pgbouncer", ports["pgbouncer"], ["pgbouncer", "-d", "-q", str(pgbouncer_ini)], layout
        ),
        Service(
            "redis",
            ports["redis"],
            [
                redis,
                "--bind",
                "127.0.0.1",
                "--port",
                str(ports["redis"]),
                "--save",
                "",
                "--appendonly",
                "no",
                "--maxmemory",
                "256mb",
                "--maxmemory-policy",
                "allkeys-lru",
                "--dir",
                str(layout.dir / "run"),
            ],
            layout,
        ),
        Service(
            "workload",
            ports["workload"],
            [sys.executable, "-m", "rollbook.lab.workload", "--lab-dir", str(layout.dir)],
            layout,
        ),
        _postgres_exporter(layout, "primary"),
        _postgres_exporter(layout, "replica"),
        Service(
            "pgbouncer-exporter",
            ports["pgbouncer_exporter"],
            [
                pgbouncer_exporter(),
                "--config",
                str(layout.dir / "config" / "pgbouncer-exporter.yml"),
            ],
            layout,
            {"PGPASSFILE": str(layout.dir / "secrets" / "pgpass")},
        ),
        Service(
            "redis-exporter",
            ports["redis_exporter"],
            [
                "prometheus-redis-exporter",
                f"-redis.addr=redis://127.0.0.1:{ports['redis']}",
                f"-web.listen-address=127.0.0.1:{ports['redis_exporter']}",
            ],
            layout,
        ),
        Service(
            "prometheus",
            ports["prometheus"],
            [
                "prometheus",
                f"--config.file={layout.dir / 'config' / 'prometheus.yml'}",
                f"--storage.tsdb.path={layout.dir / 'prometheus-data'}",
                f"--web.listen-address=127.0.0.1:{ports['prometheus']}",
                "--web.enable-lifecycle",
                "--web.enable-admin-api",
                "--storage.tsdb.retention.time=15d",
            ],
            layout,
        ),
    ]
