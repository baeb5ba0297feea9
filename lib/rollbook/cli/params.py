"""`rollbook params check FILE`."""

from __future__ import annotations

import click


@click.group("params")
def params_group() -> None:
    """Validate params files."""


@params_group.command("check")
@click.argument("file", type=click.Path(dir_okay=False))
def check(file: str) -> None:
    """Validate FILE and print it with secrets shown only as references."""
    import yaml

    from rollbook.params import load_params, redacted

    params = load_params(file)
    click.echo(yaml.safe_dump(redacted(params), sort_keys=False).rstrip())
    click.echo(f"ok: {file} is valid", err=True)
