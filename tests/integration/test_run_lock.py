"""Two concurrent runs of the same step against the same database: the second refuses at
once and names the holder; the password the kernel used appears in no archived file.

Starts its own throwaway PostgreSQL 15 (as the `postgres` OS user) on port 57401.
"""

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from rollbook.archive.leaks import files_containing

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_PORT = 57401
NOTEBOOK = Path(__file__).parents[1] / "runner_notebooks" / "locked_step.ipynb"
ROLLBOOK = Path(sys.executable).parent / "rollbook"


def as_postgres(*command: str) -> None:
    """Run a PostgreSQL tool as `postgres`; the server it may start must not hold our pipes."""
    subprocess.run(
        ["runuser", "-u", "postgres", "--", *command],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=60,
    )


@pytest.fixture(scope="module")
def postgres():
    """A PostgreSQL 15 with a scram password for `postgres` over TCP; yields the password."""
    Path("/var/tmp/runner").mkdir(parents=True, exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="pg-", dir="/var/tmp/runner"))
    password = "pg-" + secrets.token_hex(12)
    pwfile = base / "pwfile"
    pwfile.write_text(password + "\n")
    shutil.chown(base, "postgres")
    shutil.chown(pwfile, "postgres")
    data = base / "data"
    as_postgres(
        str(PG_BIN / "initdb"),
        "-D",
        str(data),
        "-U",
        "postgres",
        "--auth-host=scram-sha-256",
        "--auth-local=peer",
        f"--pwfile={pwfile}",
    )
    pwfile.unlink()
    options = f"-p {PG_PORT} -c listen_addresses=127.0.0.1 -c unix_socket_directories={base}"
    log = str(base / "server.log")
    as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-o", options, "-l", log, "-w", "start")
    try:
        yield password
    finally:
        as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(base)


def test_second_concurrent_run_refuses_naming_the_holder(postgres, tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text(
        "environment: lock-test\n"
        f"primary: {{host: 127.0.0.1, port: {PG_PORT}, dbname: postgres, user: postgres,\n"
        "          password: {env: ROLLBOOK_LOCK_TEST_PASSWORD}}\n"
    )
    env = {**os.environ, "ROLLBOOK_LOCK_TEST_PASSWORD": postgres}
    out, ready, release = tmp_path / "out", tmp_path / "ready", tmp_path / "release"
    command = [str(ROLLBOOK), "run", str(NOTEBOOK), "--params", str(params)]
    command += ["--output-dir", str(out)]
    first = subprocess.Popen(
        [*command, "-p", f"ready_file={ready}", "-p", f"release_file={release}"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not ready.exists():
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the first run never took the lock"
            time.sleep(0.1)
        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    finally:
        release.touch()
        stdout, stderr = first.communicate(timeout=120)
    assert second.returncode == 4, second.stdout + second.stderr
    refusal = next(line for line in second.stdout.splitlines() if line.startswith("BUSY"))
    assert refusal.startswith("BUSY (exit code 4)")
    assert "runbook locked_step is already running against 127.0.0.1:57401/postgres" in refusal
    assert "application_name 'rollbook:lock:locked_step'" in refusal
    assert "backend started" in refusal
    assert first.returncode == 0, stdout + stderr
    assert "connected to the primary" in stdout
    assert len(list(out.glob("*/manifest.json"))) == 2
    assert files_containing(out, postgres) == []
