"""`rollbook explain` commands and the params sections."""

from __future__ import annotations

import json

import pytest
from _explain_plans import PLANS_DIR
from click.testing import CliRunner

from rollbook.cli import main
from rollbook.explain.run import UnknownQuery, run_named_query
from rollbook.params import ParamsError, validate_params

PRIMARY = {"dbname": "chat", "user": "chat"}


def invoke(*args):
    return CliRunner().invoke(main, ["explain", *args])


def test_analyze_json_schema():
    result = invoke("analyze", str(PLANS_DIR / "sort_spill.json"), "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert set(out) == {"summary", "nodes", "findings"}
    node = out["nodes"][0]
    for key in ("node_id", "exclusive_ms", "inclusive_ms", "loops", "rows_total",
                "estimate_factor", "shared_hit_blocks"):  # fmt: skip
        assert key in node
    assert {"code", "severity", "node_id", "message", "action"} == set(out["findings"][0])
    assert "SORT_SPILL" in {f["code"] for f in out["findings"]}


def test_analyze_text_and_diff():
    text = invoke("analyze", str(PLANS_DIR / "large_offset.json"))
    assert text.exit_code == 0 and "LARGE_OFFSET node #1" in text.output
    result = invoke(
        "diff", str(PLANS_DIR / "parallel_seq_scan.json"), str(PLANS_DIR / "clean.json"), "--json"
    )
    out = json.loads(result.output)
    assert out["shape_changed"] is True
    assert {n["change"] for n in out["nodes"]} == {"same", "replaced", "removed"}


@pytest.mark.parametrize(
    "content,message",
    [("{nope", "not JSON"), ('{"x": 1}', "not an EXPLAIN"), (None, "cannot read")],
)
def test_bad_plan_file_exits_2(tmp_path, content, message):
    path = tmp_path / "plan.json"
    if content is not None:
        path.write_text(content)
    result = invoke("analyze", str(path))
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def test_run_unknown_query_exits_2(tmp_path):
    params = tmp_path / "p.yaml"
    params.write_text("environment: t\nprimary: {dbname: chat, user: chat, port: 1}\n")
    result = invoke("run", "--params", str(params), "--query", "history_first_page")
    assert result.exit_code == 2
    assert "no query named 'history_first_page'" in result.output


def test_params_sections():
    params = validate_params(
        {
            "environment": "t",
            "primary": PRIMARY,
            "queries": {"q": {"sql": "SELECT 1", "params": {"a": 1}}},
            "explain": {
                "thresholds": {"misestimate_factor": 20},
                "assertions": {"q": [{"no_node": "Sort"}, {"max_execution_ms": 5}]},
            },
        }
    )
    assert params.queries["q"].params == {"a": 1}
    assert params.explain.thresholds.misestimate_factor == 20
    assert params.explain.thresholds.hot_node_share == 0.5  # documented default
    assert [a.kind for a in params.explain.assertions["q"]] == ["no_node", "max_execution_ms"]
    with pytest.raises(UnknownQuery, match="known: q"):
        run_named_query(None, params.queries, "other")


@pytest.mark.parametrize(
    "explain,message",
    [
        ({"assertions": {"q": [{"no_node": "Sort", "max_buffers": 1}]}}, "exactly one"),
        ({"assertions": {"q": [{"uses_idx": "x"}]}}, "unknown key"),
        ({"thresholds": {"misestimate_factor": 0.5}}, "misestimate_factor"),
        ({"extra": 1}, "explain.extra: unknown key"),
    ],
)
def test_bad_explain_params(explain, message):
    with pytest.raises(ParamsError, match=message):
        validate_params({"environment": "t", "primary": PRIMARY, "explain": explain})
