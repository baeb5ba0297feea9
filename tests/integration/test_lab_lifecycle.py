"""A lab of its own: crash recovery (`kill -9` then `lab up`) and a clean `lab down`."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
from click.testing import CliRunner

from rollbook.cli import main
from rollbook.lab import process
from rollbook.lab.stack import Lab

PORT_BASE = 26500


def lab_cli(*args: str):
    return CliRunner().invoke(main, ["lab", *args])


def processes_mentioning(*paths: Path) -> list[int]:
    """Pids whose command line mentions any of the paths (what `down` must leave empty)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if any(str(p) in cmdline for p in paths) and process.pid_alive(int(proc.name)):
            found.append(int(proc.name))
    return found


@pytest.fixture(scope="module")
def own_lab(tmp_path_factory):
    lab_dir = tmp_path_factory.mktemp("lifecycle") / "lab"
    result = lab_cli(
        "up", "--dir", str(lab_dir), "--port-base", str(PORT_BASE), "--seed-messages", "5000"
    )
    assert result.exit_code == 0, result.output
    lab = Lab.open(lab_dir)
    yield lab
    lab.destroy(lambda _: None)


def status_by_name(lab: Lab) -> dict:
    result = lab_cli("status", "--dir", str(lab.layout.dir), "--json")
    return {row["name"]: row for row in json.loads(result.output)}


def test_status_reports_every_service_healthy(own_lab):
    rows = status_by_name(own_lab)
    assert {
        "postgres-primary",
        "postgres-replica",
        "pgbouncer",
        "redis",
        "prometheus",
        "workload",
        "pgbouncer-exporter",
    } <= set(rows)
    assert all(r["healthy"] and r["pid"] for r in rows.values()), rows


@pytest.mark.parametrize(
    "victim", ["pgbouncer", "postgres-primary", "postgres-replica", "redis", "workload"]
)
def test_kill_9_then_up_restores_only_what_is_down(own_lab, victim):
    before = status_by_name(own_lab)
    os.kill(before[victim]["pid"], signal.SIGKILL)
    process.wait_for(lambda: not process.pid_alive(before[victim]["pid"]), 10, "kill")
    assert not status_by_name(own_lab)[victim]["healthy"]

    result = lab_cli("up", "--dir", str(own_lab.layout.dir))
    assert result.exit_code == 0, result.output

    after = status_by_name(own_lab)
    assert [n for n, r in after.items() if not r["healthy"]] == [], after
    assert after[victim]["pid"] != before[victim]["pid"]
    untouched = [n for n in before if n != victim]
    assert all(after[n]["pid"] == before[n]["pid"] for n in untouched)


def test_down_leaves_no_lab_process(own_lab):
    pids = [r["pid"] for r in status_by_name(own_lab).values()]
    result = lab_cli("down", "--dir", str(own_lab.layout.dir))
    assert result.exit_code == 0, result.output
    assert not any(process.pid_alive(pid) for pid in pids)
    assert processes_mentioning(own_lab.layout.dir, own_lab.layout.state_dir) == []
    assert lab_cli("status", "--dir", str(own_lab.layout.dir)).exit_code == 1
