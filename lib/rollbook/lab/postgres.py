"""The lab's PostgreSQL 15: primary (initdb, roles, chat database) and streaming replica."""

from __future__ import annotations

import shutil
from pathlib import Path

import psycopg
from psycopg import sql

from rollbook.lab import process
from rollbook.lab.layout import ADMIN_USER, APP_USER, DATABASE, REPLICATION_USER, LabLayout

PG_BIN = Path("/usr/lib/postgresql/15/bin")

SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "shared_preload_libraries": "'pg_stat_statements'",
    "pg_stat_statements.track": "all",
    "track_io_timing": "on",
    "log_autovacuum_min_duration": "0",
    "wal_level": "replica",
    "max_wal_senders": "5",
    "hot_standby": "on",
    "hot_standby_feedback": "on",
    "max_connections": "100",
    "shared_buffers": "256MB",
    "password_encryption": "'scram-sha-256'",
    "log_line_prefix": "'%m [%p] %q%u@%d/%a '",
    "log_min_duration_statement": "1000",
}

HBA = """\
# rollbook lab: passwords (SCRAM) over loopback only.
local all all reject
host replication {replication} 127.0.0.1/32 scram-sha-256
host all all 127.0.0.1/32 scram-sha-256
"""


class PostgresInstance:
    """One data directory of the lab (primary or replica)."""

    def __init__(self, layout: LabLayout, role: str):
        self.layout = layout
        self.role = role
        self.port = layout.ports[role]
        self.data = layout.state_path / role
        self.log = layout.state_path / "logs" / f"postgres-{role}.log"

    @property
    def exists(self) -> bool:
        return (self.data / "PG_VERSION").exists()

    def pid(self) -> int | None:
        pidfile = self.data / "postmaster.pid"
        try:
            pid = int(pidfile.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        return pid if process.pid_alive(pid) else None

    def _ctl(self, *args: str) -> str:
        return process.run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), *args], unprivileged=True)

    def _orphans(self) -> list[int]:
        """Backends left behind by a killed postmaster (their working directory is ours)."""
        found = []
        for proc in Path("/proc").iterdir():
            try:
                if proc.name.isdigit() and (proc / "cwd").resolve() == self.data.resolve():
                    found.append(int(proc.name))
            except OSError:
                continue
        return found

    def start(self) -> None:
        if self.pid() and process.port_open(self.port):
            return
        if not self.pid():  # after a crash: orphaned backends still hold shared memory
            for orphan in self._orphans():
                process.stop_pid(orphan, timeout=5)
            # A killed postmaster may linger as a zombie whose pid PostgreSQL takes for alive.
            (self.data / "postmaster.pid").unlink(missing_ok=True)
        opts = f"-p {self.port} -k ''"  # TCP on loopback only: no Unix socket, no socket lock
        self._ctl("-l", str(self.log), "-o", opts, "-w", "-t", "60", "start")

    def stop(self) -> None:
        if self.pid():
            self._ctl("-m", "fast", "-w", "-t", "60", "stop")

    def connect(self, dbname: str = DATABASE, *, as_app: bool = False) -> psycopg.Connection:
        """An autocommit session as the lab's admin (or the application role)."""
        user, secret = (APP_USER, "app") if as_app else (ADMIN_USER, "admin")
        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=user,
            dbname=dbname,
            password=self.layout.secret_file(secret).read_text().strip(),
            application_name="rollbook-lab",
            autocommit=True,
        )


def init_primary(primary: PostgresInstance) -> None:
    """initdb with the admin password, then lab settings and pg_hba."""
    state = primary.layout.state_path
    pwfile = state / ".initdb-pw"
    pwfile.write_text(primary.layout.secret_file("admin").read_text())
    pwfile.chmod(0o600)
    process.chown_to_service_user(pwfile)
    try:
        process.run(
            [
                str(PG_BIN / "initdb"),
                "-D",
                str(primary.data),
                "-U",
                ADMIN_USER,
                f"--pwfile={pwfile}",
                "--auth-host=scram-sha-256",
                "--auth-local=reject",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ],
            unprivileged=True,
        )
    finally:
        pwfile.unlink(missing_ok=True)
    settings = "\n".join(f"{k} = {v}" for k, v in SERVER_SETTINGS.items())
    with open(primary.data / "postgresql.conf", "a") as conf:
        conf.write(f"\n# rollbook lab\n{settings}\n")
    (primary.data / "pg_hba.conf").write_text(HBA.format(replication=REPLICATION_USER))


def create_roles_and_database(primary: PostgresInstance) -> None:
    """Application role (owns the chat schema), replication role; chat database."""
    secret = primary.layout.secret_file
    with primary.connect("postgres") as conn:
        for role, options, password in (
            (APP_USER, sql.SQL("LOGIN"), secret("app")),
            (REPLICATION_USER, sql.SQL("LOGIN REPLICATION"), secret("replication")),
        ):
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone()
            verb = sql.SQL("ALTER ROLE") if exists else sql.SQL("CREATE ROLE")
            conn.execute(
                sql.SQL("{} {} {} PASSWORD {}").format(
                    verb,
                    sql.Identifier(role),
                    options,
                    sql.Literal(password.read_text().strip()),
                )
            )
        conn.execute(sql.SQL("GRANT pg_monitor TO {}").format(sql.Identifier(APP_USER)))
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone():
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(DATABASE), sql.Identifier(APP_USER)
                )
            )
    with primary.connect() as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        conn.execute("CREATE EXTENSION IF NOT EXISTS hypopg")
        conn.execute(
            sql.SQL("GRANT EXECUTE ON FUNCTION {} TO {}").format(
                sql.SQL("pg_stat_statements_reset(oid, oid, bigint)"), sql.Identifier(APP_USER)
            )
        )


def scram_secrets(primary: PostgresInstance, roles: list[str]) -> dict[str, str]:
    """SCRAM verifiers from pg_authid (for PgBouncer's auth_file: no plain passwords)."""
    with primary.connect("postgres") as conn:
        rows = conn.execute(
            "SELECT rolname, rolpassword FROM pg_authid WHERE rolname = ANY(%s)", [roles]
        ).fetchall()
    return dict(rows)


def make_replica(primary: PostgresInstance, replica: PostgresInstance) -> None:
    """pg_basebackup -R from the primary into the replica's data directory."""
    if replica.data.exists():
        shutil.rmtree(replica.data)
    passfile = primary.layout.state_path / ".replication-pgpass"
    password = primary.layout.secret_file("replication").read_text().strip()
    passfile.write_text(f"127.0.0.1:{primary.port}:*:{REPLICATION_USER}:{password}\n")
    passfile.chmod(0o600)
    process.chown_to_service_user(passfile)
    process.run(
        [
            str(PG_BIN / "pg_basebackup"),
            "-h",
            "127.0.0.1",
            "-p",
            str(primary.port),
            "-U",
            REPLICATION_USER,
            "-D",
            str(replica.data),
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
        ],
        env={"PGPASSFILE": str(passfile)},
        unprivileged=True,
    )
    # -R writes primary_conninfo with passfile=; keep the file for reconnects.
