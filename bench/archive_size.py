"""Archive size and offline charts: `rollbook run` against papermill + nbconvert defaults.

A notebook with 10 plotly charts of 5,000 points each is executed twice in the same run:
by `rollbook run` (renderer set by `rollbook.runbook.start`, HTML from the archive export)
and by plain papermill + `nbconvert --to html` with their defaults. For each, prints the
.ipynb and HTML sizes and how many charts headless Chromium, without network, draws.

    .venv/bin/python bench/archive_size.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import nbformat
import papermill
from nbconvert import HTMLExporter
from nbformat.v4 import new_code_cell, new_notebook

from rollbook.archive.offline import rendered_chart_count
from rollbook.runner import prepare, run

CHARTS, POINTS = 10, 5_000
KERNEL = {"kernelspec": {"name": "rollbook", "display_name": "rollbook", "language": "python"}}
PARAMETERS = 'params_file = "params.yaml"\napply = False'
CHART_CELL = f"""import math
import plotly.graph_objects as go
x = list(range({POINTS}))
for i in range({CHARTS}):
    go.Figure(go.Scatter(x=x, y=[math.sin(j / (50 + i)) for j in x])).show()"""
START = 'from rollbook import runbook\nrb = runbook.start(params_file, apply=apply, name="bench")'
VERDICT = (
    'from rollbook import verdict\nrb.check(verdict.expect("charts drawn", True))\nrb.verdict()'
)


def write_notebook(path: Path, cells: list[str]) -> Path:
    nb = new_notebook(metadata=KERNEL)
    nb.cells = [new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]})]
    nb.cells += [new_code_cell(source) for source in cells]
    nbformat.write(nb, path)
    return path


def measure(notebook: Path, html: Path) -> dict[str, float]:
    return {
        "ipynb_mb": notebook.stat().st_size / 1e6,
        "html_mb": html.stat().st_size / 1e6,
        "charts_offline": rendered_chart_count(html),
    }


def with_rollbook(work: Path, params: Path) -> dict[str, float]:
    notebook = write_notebook(work / "rollbook.ipynb", [START, CHART_CELL, VERDICT])
    report = run(prepare(notebook, params, [], False, work / "outputs"))
    assert report.exit_code == 0, report.reason
    return measure(report.paths.notebook, report.paths.html)


def with_defaults(work: Path, params: Path) -> dict[str, float]:
    notebook = write_notebook(work / "plain.ipynb", [CHART_CELL])
    executed = work / "plain-executed.ipynb"
    papermill.execute_notebook(
        str(notebook), str(executed), parameters={"params_file": str(params)}, progress_bar=False
    )
    html = work / "plain-executed.html"
    body, _ = HTMLExporter().from_filename(str(executed))
    html.write_text(body)
    return measure(executed, html)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="rollbook-bench-") as tmp:
        work = Path(tmp)
        params = work / "params.yaml"
        params.write_text(
            "environment: bench\nprimary: {host: 127.0.0.1, dbname: chat, user: chat}\n"
        )
        ours, baseline = with_rollbook(work, params), with_defaults(work, params)
    print(f"{CHARTS} charts x {POINTS:,} points")
    print(f"{'':34}{'ipynb MB':>10}{'HTML MB':>10}{'charts offline':>16}")
    for name, row in (("rollbook run", ours), ("papermill + nbconvert defaults", baseline)):
        print(
            f"{name:34}{row['ipynb_mb']:>10.1f}{row['html_mb']:>10.1f}"
            f"{row['charts_offline']:>10} / {CHARTS}"
        )
    print(
        f"ratio rollbook / defaults: ipynb {ours['ipynb_mb'] / baseline['ipynb_mb']:.2f}x, "
        f"HTML {ours['html_mb'] / baseline['html_mb']:.1f}x, "
        f"charts visible offline {ours['charts_offline']} vs {baseline['charts_offline']}"
    )


if __name__ == "__main__":
    main()
