"""The DBA's plan explorer: one plan from a named query, ad-hoc SQL or saved EXPLAIN JSON.

Queries run on a read-only session of the primary or the replica. With `analyze` the
statement really executes (inside a rolled-back transaction; a read-only session refuses
writes), so the explorer defaults to a plain EXPLAIN, which only plans it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from rollbook.db import session
from rollbook.explain.analysis import Analysis
from rollbook.explain.assertions import check_assertions
from rollbook.explain.charts import icicle, node_bars
from rollbook.explain.parse import Plan, parse_plan
from rollbook.explain.run import explain, named_query
from rollbook.params import Params
from rollbook.postgres.what_if import what_if
from rollbook.runbooks.indexes import endpoint
from rollbook.verdict import Check

NODE_TABLE_COLUMNS = [
    "node_id", "depth", "label", "loops", "plan_rows", "actual_rows", "estimate_factor",
    "estimate_direction", "inclusive_ms", "exclusive_ms", "exclusive_share",
    "rows_removed_by_filter", "exclusive_shared_blocks", "total_cost",
]  # fmt: skip


def load_plan(source: str | Path, name: str = "") -> Plan:
    """A saved plan: a path to EXPLAIN output, or the plan pasted as text (JSON or TEXT
    format, framed by psql or not). One line without a plan node's "(" is a path."""
    text = str(source).strip()
    if "\n" in text or text.startswith(("[", "{")) or "(" in text:
        return parse_plan(text, name=name or "pasted plan")
    path = Path(text).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"plan file not found: {path} (give a path, or paste the plan itself)"
        )
    return parse_plan(path, name=name or path.stem)


def query_text(
    params: Params,
    query_name: str = "",
    sql: str = "",
    sql_params: dict[str, Any] | str | None = None,
) -> tuple[str, dict[str, Any], str]:
    """(sql, bind params, name) from either `sql` (+ `sql_params`) or a named query.

    `sql_params` may be a mapping or its JSON text (as `rollbook run -p` passes it).
    """
    bind: dict[str, Any] = (
        json.loads(sql_params or "{}") if isinstance(sql_params, str) else dict(sql_params or {})
    )
    if sql.strip():
        return sql, bind, query_name or "ad-hoc query"
    if not query_name:
        raise ValueError("give query_name (a query of params.queries), sql, or plan_json")
    named = named_query(params.queries, query_name)
    return named.sql, {**named.params, **bind}, query_name


def plan(
    params: Params,
    *,
    query_name: str = "",
    sql: str = "",
    sql_params: dict[str, Any] | str | None = None,
    plan_json: str = "",
    target: str = "primary",
    analyze: bool = False,
) -> Plan:
    """The plan to explore: `plan_json` if given, else EXPLAIN of the query on `target`."""
    if str(plan_json).strip():
        return load_plan(plan_json, query_name)
    text, binds, name = query_text(params, query_name, sql, sql_params)
    with session(
        endpoint(params, target), params.safety, purpose="explain-explorer", read_only=True
    ) as conn:
        return explain(conn, text, binds, analyze=analyze, name=name)


def what_if_plan(
    params: Params,
    what_if_index: str,
    *,
    query_name: str = "",
    sql: str = "",
    sql_params: dict[str, Any] | str | None = None,
    target: str = "primary",
) -> tuple[Plan, list[str]]:
    """Plain EXPLAIN of the query as if `what_if_index` (a CREATE INDEX) existed (hypopg)."""
    text, binds, name = query_text(params, query_name, sql, sql_params)
    with session(
        endpoint(params, target), params.safety, purpose="explain-explorer", read_only=True
    ) as conn:
        return what_if(conn, [what_if_index], text, binds, name=f"{name} (what-if)")


def node_table(analysis: Analysis) -> pd.DataFrame:
    """The per-node table, the columns a DBA reads first."""
    return analysis.nodes[NODE_TABLE_COLUMNS].reset_index(drop=True)


def charts(analysis: Analysis) -> list[go.Figure]:
    """The tree, and for an analysed plan the time and misestimate bars."""
    figures = [icicle(analysis)]
    if analysis.plan.analyzed:
        figures += [node_bars(analysis, "exclusive_ms"), node_bars(analysis, "estimate_factor")]
    return figures


def assertion_checks(params: Params, explored: Plan) -> list[Check]:
    """The params' `explain.assertions` of this query, as informational (not required) checks."""
    assertions = params.explain.assertions.get(explored.name, [])
    checks = check_assertions(explored, assertions)
    return [c.model_copy(update={"required": False}) for c in checks]
