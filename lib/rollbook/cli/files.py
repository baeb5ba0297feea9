"""`rollbook files [FOLDER]`: where the files rollbook ships are."""

from __future__ import annotations

import click

from rollbook import resources


@click.command("files")
@click.argument("folder", required=False, type=click.Choice(list(resources.SHIPPED)))
def files_command(folder: str | None) -> None:
    """Where the runbooks, migrations, monitoring files and params files rollbook ships are
    (in an installed wheel, or a checkout's own folders); with FOLDER, that path alone.

    `rollbook run NAME` runs a shipped runbook by name (e.g. `00_preflight`)."""
    if folder:
        click.echo(resources.folder(folder))
        return
    for name in resources.SHIPPED:
        click.echo(f"{name:<11} {resources.folder(name)}")
