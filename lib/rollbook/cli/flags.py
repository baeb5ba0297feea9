"""`rollbook flags list | get NAME | set NAME VALUE`."""

from __future__ import annotations

import functools
import getpass
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

import click

from rollbook.flags.catalog import FlagError

if TYPE_CHECKING:
    from rollbook.flags.store import FlagStore


def _with_store(command: Callable) -> Callable:
    """Add --params, open the primary it names and call `command(store, ...)`.

    Bad input (params, flag name or value) exits 2 (`rollbook.errors`), a database error
    exits 1, each with one message."""

    @click.option(
        "--params",
        "params_file",
        default=None,
        show_default="params/lab.yaml",
        type=click.Path(dir_okay=False),
        help="params file naming the primary that holds the flags",
    )
    @functools.wraps(command)
    def wrapper(params_file: str | None, **kwargs) -> None:
        import psycopg

        from rollbook import resources
        from rollbook.db.session import session
        from rollbook.flags.store import FlagStore
        from rollbook.params import load_params

        try:
            params = load_params(params_file or resources.lab_params())
            with session(params.primary, params.safety, purpose="flags") as conn:
                command(FlagStore(conn), **kwargs)
        except psycopg.Error as exc:
            click.echo(f"error: database: {str(exc).strip()}", err=True)
            sys.exit(1)

    return wrapper


@click.group("flags")
def flags_group() -> None:
    """Feature flags the application reads (table rollbook.flags in the primary)."""


@flags_group.command("list")
@_with_store
def list_flags(store: FlagStore) -> None:
    """Every known flag with the value in effect (set or default)."""
    click.echo(store.list().to_string(index=False, na_rep="-"))


@flags_group.command("get")
@click.argument("name")
@_with_store
def get_flag(store: FlagStore, name: str) -> None:
    """Print the value in effect for NAME."""
    value = store.get(name)
    click.echo("(application default)" if value is None else json.dumps(value))


@flags_group.command("set")
@click.argument("name")
@click.argument("value")
@click.option("--run-id", default=None, help="the runbook run making this change (audited)")
@click.option("--by", default=getpass.getuser, show_default="OS user", help="who changes it")
@_with_store
def set_flag(store: FlagStore, name: str, value: str, run_id: str | None, by: str) -> None:
    """Set NAME to VALUE (a JSON number, e.g. 25), with an audit row."""
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        raise FlagError(f"{name}: VALUE must be a number, got {value!r}") from None
    store.ensure_schema()
    stored = store.set(name, parsed, run_id=run_id, by=by)
    click.echo(f"{name} = {json.dumps(stored)}")
