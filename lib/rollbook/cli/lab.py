"""`rollbook lab up | down | status | reset | gc | psql`."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import click

from rollbook.lab import orphans
from rollbook.lab.layout import ADMIN_USER, DATABASE, DEFAULT_PORT_BASE

if TYPE_CHECKING:
    from rollbook.lab.stack import Lab

lab_dir_option = click.option(
    "--dir",
    "lab_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="lab directory (default: $ROLLBOOK_LAB_DIR or .lab)",
)


def _say(message: str) -> None:
    click.echo(f"lab: {message}", err=True)


def _open(lab_dir: Path | None, **settings) -> Lab:
    """The lab in `lab_dir` (its stack, with the database and HTTP clients, loaded here)."""
    from rollbook.lab.stack import Lab

    return Lab.open(lab_dir, **settings)


def print_status(lab: Lab, as_json: bool) -> bool:
    """Print the services table; True when every service is healthy."""
    rows = lab.status()
    if as_json:
        click.echo(json.dumps([asdict(r) for r in rows], indent=2))
    else:
        click.echo(f"{'service':<28}{'pid':>8}{'port':>7}  health")
        for r in rows:
            health = "up" if r.healthy else "DOWN"
            click.echo(f"{r.name:<28}{r.pid or '-':>8}{r.port:>7}  {health}")
    return all(r.healthy for r in rows)


@click.group("lab")
def lab_group() -> None:
    """The embedded lab: PostgreSQL primary + replica, PgBouncer, Redis, Prometheus."""


@lab_group.command("up")
@lab_dir_option
@click.option(
    "--port-base", type=int, default=None, help=f"first port (default {DEFAULT_PORT_BASE})"
)
@click.option("--seed-messages", type=click.IntRange(1000), default=None, help="seed scale")
@click.option("--pool-size", type=click.IntRange(1), default=None, help="PgBouncer pool size")
@click.option("--max-client-conn", type=click.IntRange(1), default=None)
def up(lab_dir, port_base, seed_messages, pool_size, max_client_conn) -> None:
    """Start the lab (create and seed it the first time); start only what is down."""
    given = {
        "port_base": port_base,
        "seed_messages": seed_messages,
        "pool_size": pool_size,
        "max_client_conn": max_client_conn,
    }
    lab = _open(lab_dir, **{k: v for k, v in given.items() if v is not None})
    try:
        lab.up(_say)
    except (RuntimeError, TimeoutError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    print_status(lab, as_json=False)


@lab_group.command("status")
@lab_dir_option
@click.option("--json", "as_json", is_flag=True, help="machine-readable")
def status(lab_dir, as_json) -> None:
    """Each service with pid, port and health; exit 1 if any is down."""
    lab = _open(lab_dir)
    sys.exit(0 if print_status(lab, as_json) else 1)


@lab_group.command("down")
@lab_dir_option
def down(lab_dir) -> None:
    """Stop the processes this lab started (and nothing else)."""
    _open(lab_dir).down(_say)


@lab_group.command("reset")
@lab_dir_option
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
def reset(lab_dir, yes) -> None:
    """Destroy the lab's data and start a fresh one."""
    lab = _open(lab_dir)
    if not yes:
        click.confirm(f"delete all lab data in {lab.layout.dir}?", abort=True)
    settings = {
        "port_base": lab.layout.port_base,
        "seed_messages": lab.layout.seed_messages,
        "pool_size": lab.layout.pool_size,
        "max_client_conn": lab.layout.max_client_conn,
    }
    lab.destroy(_say)
    fresh = _open(lab.layout.dir, **settings)
    fresh.up(_say)
    print_status(fresh, as_json=False)


@lab_group.command("gc")
@click.option("--apply", is_flag=True, help="delete them (default: only list them)")
@click.option(
    "--include-unowned",
    is_flag=True,
    help="with --apply, also delete state that records no owning lab (older labs: make sure "
    "none of yours is only stopped)",
)
def gc(apply, include_unowned) -> None:
    """Find lab state directories no lab uses any more (left when a lab directory was
    deleted by hand) and, with --apply, delete those no process runs from."""
    found = orphans.find()
    if not found:
        click.echo(f"no orphaned lab state under {orphans.state_root()}")
    kept_running = 0
    for orphan in found:
        if orphan.running:
            kept_running += 1
            pids = ", ".join(map(str, orphan.running_pids))
            action = f"STILL RUNNING (pids {pids}), kept"
        elif apply and (orphan.owner_known or include_unowned):
            orphans.remove(orphan)
            action = "deleted"
        elif apply:
            action = "kept (--include-unowned deletes it)"
        else:
            action = "would delete (dry run: --apply)"
        click.echo(f"{orphan.path}: {orphan.reason}; {action}")
    sys.exit(1 if kept_running else 0)


@lab_group.command("psql", context_settings={"ignore_unknown_options": True})
@lab_dir_option
@click.option("--replica", is_flag=True, help="connect to the replica")
@click.argument("psql_args", nargs=-1, type=click.UNPROCESSED)
def psql(lab_dir, replica, psql_args) -> None:
    """psql on the lab as its admin user (extra arguments go to psql)."""
    lab = _open(lab_dir)
    port = lab.layout.ports["replica" if replica else "primary"]
    env = {**os.environ, "PGPASSFILE": str(lab.layout.dir / "secrets" / "pgpass")}
    args = ["psql", "-h", "127.0.0.1", "-p", str(port), "-U", ADMIN_USER, "-d", DATABASE]
    os.execvpe("psql", [*args, *psql_args], env)
