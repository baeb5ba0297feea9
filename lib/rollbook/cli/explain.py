"""`rollbook explain analyze | diff | run`: EXPLAIN plans from the command line.

`--json` output is documented in `rollbook/explain/schema.md`. A file that cannot be read
or is no EXPLAIN plan in JSON or TEXT format (psql's framing is fine) is one error line
saying what to do, and exit status 2.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

if TYPE_CHECKING:
    import pandas as pd

    from rollbook.explain.analysis import Analysis
    from rollbook.explain.diff import PlanDiff

NODE_FIELDS = [
    "node_id", "parent_id", "label", "node_type", "relation", "index", "loops", "processes",
    "plan_rows", "actual_rows", "rows_total", "estimate_factor", "estimate_direction",
    "inclusive_ms", "exclusive_ms", "rows_removed_by_filter", "rows_removed_by_recheck",
    "heap_fetches", "shared_hit_blocks", "shared_read_blocks", "temp_read_blocks",
    "temp_written_blocks", "exclusive_shared_blocks",
]  # fmt: skip
TABLE_FIELDS = ["label", "loops", "rows_total", "estimate_factor", "inclusive_ms", "exclusive_ms"]


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


# Whole numbers in schema.md; every other number is a float there.
INT_FIELDS = frozenset({"node_id", "parent_id", "processes", "node_count", "before_id", "after_id"})


def _plain(key: str, value: Any) -> Any:
    """JSON-safe scalars of the type schema.md declares: NaN -> null, numpy -> Python."""
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    if math.isnan(value):
        return None
    return int(value) if key in INT_FIELDS else float(value)


def _records(frame: pd.DataFrame) -> list[dict]:
    return [{k: _plain(k, v) for k, v in row.items()} for row in frame.to_dict("records")]


def analysis_json(analysis: Analysis) -> dict:
    return {
        "summary": {k: _plain(k, v) for k, v in analysis.summary.items()},
        "nodes": _records(analysis.nodes[NODE_FIELDS]),
        "findings": [f.as_dict() for f in analysis.findings],
    }


def diff_json(plan_diff: PlanDiff) -> dict:
    return {
        "shape_changed": plan_diff.shape_changed,
        "statement": _records(plan_diff.statement),
        "nodes": _records(plan_diff.nodes),
    }


def _load(path: str):
    from rollbook.explain.parse import PlanError, load_plan

    try:
        return load_plan(Path(path))
    except PlanError as exc:
        _fail(f"{path}: {exc}" if not str(exc).startswith(path) else str(exc))


def _show_analysis(analysis: Analysis) -> None:
    import pandas as pd

    s = analysis.summary
    if not s["analyzed"]:
        timing = "not analysed (plan only)"
    elif s["execution_ms"] is None:
        timing = "analysed without times (TIMING OFF)"
    elif s["execution_reported"]:
        timing = f"execution {s['execution_ms']:.3f} ms, planning {s['planning_ms'] or 0:.3f} ms"
    else:
        timing = f"{s['execution_ms']:.3f} ms (the root node's time: no Execution Time given)"
    click.echo(f"{s['name'] or 'plan'}: {s['node_count']} nodes, {timing}")
    with pd.option_context("display.width", 200, "display.max_colwidth", 60):
        click.echo(analysis.nodes[TABLE_FIELDS].round(3).to_string())
    click.echo(f"\n{len(analysis.findings)} finding(s)")
    for f in analysis.findings:
        where = f" node #{f.node_id}" if f.node_id else ""
        click.echo(f"- [{f.severity}] {f.code}{where}: {f.message}\n    -> {f.action}")


@click.group("explain")
def explain_group() -> None:
    """Analyse, compare and run EXPLAIN plans."""


@explain_group.command("analyze")
@click.argument("plan_file", metavar="PLAN.json")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output (schema.md)")
def analyze_command(plan_file: str, as_json: bool) -> None:
    """Summary, per-node metrics and findings of an EXPLAIN plan file (JSON or TEXT)."""
    from rollbook.explain.analysis import analyse

    analysis = analyse(_load(plan_file))
    if as_json:
        click.echo(json.dumps(analysis_json(analysis), indent=2))
    else:
        _show_analysis(analysis)


@explain_group.command("diff")
@click.argument("before_file", metavar="BEFORE.json")
@click.argument("after_file", metavar="AFTER.json")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output (schema.md)")
def diff_command(before_file: str, after_file: str, as_json: bool) -> None:
    """Shape and metric changes between two plans of the same query."""
    import pandas as pd

    from rollbook.explain.diff import diff

    plan_diff = diff(_load(before_file), _load(after_file))
    if as_json:
        click.echo(json.dumps(diff_json(plan_diff), indent=2))
        return
    with pd.option_context("display.width", 200, "display.max_colwidth", 60):
        click.echo(plan_diff.statement.round(3).to_string(index=False))
        click.echo("\nshape changes:" if plan_diff.shape_changed else "\nsame shape")
        columns = ["change", "before_label", "after_label"]
        if plan_diff.shape_changed:
            click.echo(plan_diff.shape[columns].fillna("").to_string(index=False))


@explain_group.command("run")
@click.option("--params", "params_file", required=True, type=click.Path(dir_okay=False))
@click.option("--query", "query_name", required=True, help="a name under `queries:`")
@click.option("--analyze", is_flag=True, help="execute it (EXPLAIN ANALYZE, rolled back)")
@click.option("--target", type=click.Choice(["primary", "replica"]), default="primary")
@click.option("--save", type=click.Path(dir_okay=False), help="also write the plan JSON here")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output (schema.md)")
def run_command(
    params_file: str, query_name: str, analyze: bool, target: str, save: str | None, as_json: bool
) -> None:
    """EXPLAIN a named query from a params file on the primary or the replica."""
    import psycopg

    from rollbook.config import SecretError
    from rollbook.db.session import session
    from rollbook.explain.analysis import analyse
    from rollbook.explain.run import UnknownQuery, named_query, run_named_query
    from rollbook.params import load_params

    params = load_params(params_file)
    try:
        named_query(params.queries, query_name)
    except UnknownQuery as exc:
        _fail(f"{params_file}: {exc}")
    endpoint = params.primary if target == "primary" else params.replica
    if endpoint is None:
        _fail(f"{params_file}: no {target} endpoint defined")
    try:
        with session(endpoint, params.safety, purpose="explain", read_only=not analyze) as conn:
            plan = run_named_query(conn, params.queries, query_name, analyze=analyze)
    except (SecretError, psycopg.Error) as exc:
        _fail(f"{target}: {exc}")
    if save:
        Path(save).write_text(json.dumps([plan.document], indent=2) + "\n")
    analysis = analyse(plan, params.explain.thresholds)
    if as_json:
        click.echo(json.dumps(analysis_json(analysis), indent=2))
    else:
        _show_analysis(analysis)
