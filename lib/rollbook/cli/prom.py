"""`rollbook prom ...`: generate monitoring files from the catalog, list concepts."""

from __future__ import annotations

from pathlib import Path

import click


@click.group("prom")
def prom_group() -> None:
    """Prometheus catalog, rules and dashboard."""


@prom_group.command("rules")
@click.option("--dir", "directory", type=click.Path(file_okay=False), default=None,
              help="where to write *.rules.yml (default monitoring/prometheus)")  # fmt: skip
def write_rules(directory: str | None) -> None:
    """Write the alert and recording rule files generated from the catalog."""
    from rollbook.prom import rules

    written = rules.write_rules(Path(directory)) if directory else rules.write_rules()
    for path in written:
        click.echo(f"wrote {path}")


@prom_group.command("dashboard")
def print_dashboard() -> None:
    """Print the Grafana dashboard JSON (redirect to monitoring/grafana/rollbook.json)."""
    from rollbook.prom import dashboard

    click.echo(dashboard.render(), nl=False)


@prom_group.command("concepts")
@click.option("--range", "range_", default="1m", show_default=True, help="rate window")
def list_concepts(range_: str) -> None:
    """List every catalog concept with its PromQL."""
    from rollbook.prom.catalog import concepts

    for name, measure in concepts().items():
        click.echo(f"{name} [{measure.unit}]\n    {measure.query(range_)}")
