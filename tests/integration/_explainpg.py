"""A throwaway PostgreSQL 15 for the EXPLAIN integration tests (initdb, start, stop, remove).

Self-contained and fast (about a second): trust authentication on 127.0.0.1, fsync off,
data in a temporary directory the `postgres` OS user owns when the tests run as root
(PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rollbook.config.endpoints import PostgresEndpoint

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PORTS = range(57150, 57200)


def _free_port() -> int:
    for port in PORTS:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@contextmanager
def throwaway_postgres() -> Iterator[PostgresEndpoint]:
    """Start a fresh server; yield its endpoint (database postgres, user postgres)."""
    root = Path(tempfile.mkdtemp(prefix="rollbook-explain-", dir="/var/tmp"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    port = _free_port()
    run = {"check": True, "capture_output": True}
    try:
        initdb = [str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]
        subprocess.run(_as_postgres([*initdb, "--no-sync"]), **run)
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
        pg_ctl = [str(PG_BIN / "pg_ctl"), "-D", str(data)]
        subprocess.run(
            _as_postgres([*pg_ctl, "-o", options, "-w", "-l", str(root / "log"), "start"]), **run
        )
        yield PostgresEndpoint(host="127.0.0.1", port=port, dbname="postgres", user="postgres")
    finally:
        if (data / "postmaster.pid").exists():
            stop = [str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]
            subprocess.run(_as_postgres(stop), capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
