"""`rollbook runs`: list archived runs; `rollbook runs show RUN_ID`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from rollbook.cli.run import print_checks
from rollbook.runner.outcome import Outcome

_OUTPUT_DIR = click.option(
    "--output-dir", type=click.Path(file_okay=False, path_type=Path), help="archive root"
)
_LISTED = ["run_id", "outcome", "exit_code", "mode", "started_at", "duration_seconds", "failing"]


@click.group("runs", invoke_without_command=True)
@click.option("--since", help="only runs started within e.g. 90s, 1h30m, 2d, or since a date")
@click.option("--notebook", "runbook", help="only runs of this runbook (notebook name)")
@click.option(
    "--verdict", "outcome", type=click.Choice([o.value for o in Outcome]), help="only this outcome"
)
@click.option("--json", "as_json", is_flag=True, help="JSON lines instead of a table")
@_OUTPUT_DIR
@click.pass_context
def runs_group(ctx, since, runbook, outcome, as_json, output_dir) -> None:
    """List archived runs, newest first."""
    if ctx.invoked_subcommand:
        return
    from rollbook.archive.catalog import list_runs
    from rollbook.archive.layout import default_output_dir

    try:
        frame = list_runs(
            output_dir or default_output_dir(), since=since, runbook=runbook, outcome=outcome
        )
    except ValueError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    if as_json:
        click.echo(frame.to_json(orient="records", lines=True, date_format="iso").rstrip())
    elif frame.empty:
        click.echo("no runs")
    else:
        click.echo(frame[_LISTED].to_string(index=False))


@runs_group.command("show")
@click.argument("run_id")
@_OUTPUT_DIR
def show(run_id: str, output_dir: Path | None) -> None:
    """The outcome, verdict table and files of RUN_ID (full id, prefix or short id)."""
    from rollbook.archive.runs import load_run

    archived = load_run(run_id, output_dir)
    m = archived.manifest
    click.echo(f"{m['outcome'].upper()} (exit code {m['exit_code']}): {m['reason']}")
    click.echo(
        f"run {archived.run_id}: {m['runbook']} on {m['environment']}, {m['mode']}, "
        f"started {m['started_at']}, {m['duration_seconds']} s"
    )
    print_checks(archived.results.checks)
    for name, path in archived.paths.files().items():
        if path.exists():  # runs archived before the run log have none
            click.echo(f"{name:>9}: {path}")


@runs_group.command("reindex")
@_OUTPUT_DIR
def reindex(output_dir: Path | None) -> None:
    """Rebuild the catalog from the manifests of the run folders."""
    from rollbook.archive.catalog import rebuild

    click.echo(f"{rebuild(output_dir)} runs indexed")
