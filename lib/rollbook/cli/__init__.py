"""`rollbook ...` commands. Each concern registers its own group here.

A `RollbookError` raised by any command is one `error: ...` line and its exit code
(`rollbook.errors`); commands do not catch rollbook's errors themselves."""

from __future__ import annotations

import click

from rollbook.cli.demo import demo_command
from rollbook.cli.explain import explain_group
from rollbook.cli.files import files_command
from rollbook.cli.flags import flags_group
from rollbook.cli.lab import lab_group
from rollbook.cli.params import params_group
from rollbook.cli.prom import prom_group
from rollbook.cli.rollout import rollout_command
from rollbook.cli.run import run_command
from rollbook.cli.runs import runs_group
from rollbook.cli.schedule import fan_out_command
from rollbook.errors import RollbookError


class RollbookGroup(click.Group):
    """The `rollbook` group: maps a `RollbookError` to one message and its exit code."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except RollbookError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=RollbookGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rollbook")
def main() -> None:
    """Executable runbooks for a PostgreSQL data-layer rollout."""


main.add_command(lab_group)
main.add_command(params_group)
main.add_command(explain_group)
main.add_command(run_command)
main.add_command(files_command)
main.add_command(runs_group)
main.add_command(flags_group)
main.add_command(prom_group)
main.add_command(demo_command)
main.add_command(rollout_command)
main.add_command(fan_out_command)
