"""Fast start: the CLI imports heavy libraries only in the commands that need them.

Each check runs in a fresh interpreter (this test process has imported everything already)
and lists which of the heavy libraries ended up in `sys.modules`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rollbook.explain.synthetic import synthetic_document

LIB = Path(__file__).resolve().parents[2] / "lib"
# data, charts, statistics, notebooks, database and HTTP clients: seconds of imports together
HEAVY = [
    "pandas", "numpy", "plotly", "scipy", "nbformat", "nbconvert", "nbclient", "papermill",
    "jupyter_client", "psycopg", "redis", "requests", "jinja2",
]  # fmt: skip
# what the explain path may still need for its tables and JSON (not charts, not a database)
EXPLAIN_MAY_USE = {"pandas", "numpy"}

_PROBE = """
import json, sys
from rollbook.cli import main
for args in {commands!r}:
    try:
        main(args, prog_name="rollbook", standalone_mode=False)
    except SystemExit as exc:
        assert not exc.code, (args, exc.code)
loaded = {{name.split(".")[0] for name in sys.modules}}
print(json.dumps(sorted(loaded & set({heavy!r}))), file=sys.stderr)
"""


def heavy_modules_after(*commands: list[str]) -> list[str]:
    """The heavy top-level modules a fresh `rollbook` process holds after `commands`."""
    path = [str(LIB), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE.format(commands=list(commands), heavy=HEAVY)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stderr.strip().splitlines()[-1])


def test_importing_the_cli_loads_no_heavy_library():
    assert heavy_modules_after() == []


@pytest.mark.parametrize(
    "group",
    ["lab", "params", "explain", "runs", "flags", "prom", "demo", "rollout", "fan-out", "files"],
)
def test_help_of_every_command_loads_no_heavy_library(group):
    assert heavy_modules_after(["--help"], [group, "--help"]) == []


@pytest.mark.parametrize("as_json", [False, True])
def test_explain_analyze_needs_no_charts_database_or_notebooks(tmp_path, as_json):
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(synthetic_document(20)))
    loaded = heavy_modules_after(["explain", "analyze", str(plan), *(["--json"] * as_json)])
    assert set(loaded) <= EXPLAIN_MAY_USE, loaded
