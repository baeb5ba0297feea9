"""Archive size and offline charts: three ways of archiving the same run, in one run.

- **rollbook run**: the archive as `rollbook run` writes it now (each chart once as plotly
  JSON in the notebook; plotly.js once, gzipped, in the HTML).
- **before (plotly.js in notebook)**: the same run with the renderer rollbook used before,
  `notebook+plotly_mimetype` (plotly.js and an HTML copy of every chart in the notebook).
- **papermill + nbconvert defaults**: `papermill` then `nbconvert --to html`, no rollbook.

For each: the .ipynb, the HTML and the whole run folder in MB, and how many charts headless
Chromium, without network, draws from the HTML and from the notebook opened in JupyterLab.
Two notebooks: a synthetic one (10 charts x 5,000 points) and, with `--runbook`, a real
runbook run (dry) against a lab, e.g.

    .venv/bin/python bench/archive_size.py
    ROLLBOOK_LAB_DIR=.lab .venv/bin/python bench/archive_size.py \\
        --runbook notebooks/04_phase4_replica_routing.ipynb --params params/lab.yaml
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import nbformat
import papermill
from nbconvert import HTMLExporter
from nbformat.v4 import new_code_cell, new_notebook
from papermill.exceptions import PapermillExecutionError

from rollbook.archive.layout import OUTPUT_DIR_ENV
from rollbook.archive.offline import lab_rendered_chart_count, rendered_chart_count
from rollbook.runner import prepare, run

CHARTS, POINTS = 10, 5_000
KERNEL = {"kernelspec": {"name": "rollbook", "display_name": "rollbook", "language": "python"}}
PARAMETERS = 'params_file = "params.yaml"\napply = False\nrun_context = None'
START = (
    "from rollbook import runbook\n"
    'rb = runbook.start(params_file, apply=apply, name="bench", context=run_context)'
)
CHART_CELL = f"""import math
import plotly.graph_objects as go
x = list(range({POINTS}))
for i in range({CHARTS}):
    go.Figure(go.Scatter(x=x, y=[math.sin(j / (50 + i)) for j in x])).show()"""
VERDICT = (
    'from rollbook import verdict\nrb.check(verdict.expect("charts drawn", True))\nrb.verdict()'
)
BEFORE_RENDERER = 'import plotly.io as pio\npio.renderers.default = "notebook+plotly_mimetype"'
PLOTLY_MIME = "application/vnd.plotly.v1+json"
SYNTHETIC_PARAMS = "environment: bench\nprimary: {host: 127.0.0.1, dbname: chat, user: chat}\n"


def synthetic_notebook(path: Path) -> Path:
    nb = new_notebook(metadata=KERNEL)
    nb.cells = [new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]})]
    nb.cells += [new_code_cell(source) for source in (START, CHART_CELL, VERDICT)]
    nbformat.write(nb, path)
    return path


def with_renderer_before(notebook: Path, target: Path) -> Path:
    """A copy of `notebook` that switches to the former renderer right after `runbook.start`."""
    nb = nbformat.read(notebook, as_version=4)
    start = next(i for i, c in enumerate(nb.cells) if "runbook.start(" in c.source)
    nb.cells.insert(start + 1, new_code_cell(BEFORE_RENDERER))
    nbformat.write(nb, target)
    return target


def chart_count(notebook: Path) -> int:
    nb = nbformat.read(notebook, as_version=4)
    return sum(PLOTLY_MIME in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))


def measure(notebook: Path, html: Path, folder: Path) -> dict[str, float]:
    return {
        "ipynb_mb": notebook.stat().st_size / 1e6,
        "html_mb": html.stat().st_size / 1e6,
        "folder_mb": sum(f.stat().st_size for f in folder.iterdir() if f.is_file()) / 1e6,
        "charts": chart_count(notebook),
        "chromium_drawn": rendered_chart_count(html, browser="chromium"),
        "firefox_drawn": rendered_chart_count(html, browser="firefox"),
        "lab_drawn": lab_rendered_chart_count(notebook),
    }


def with_rollbook(notebook: Path, params: Path, out: Path) -> dict[str, float]:
    """`rollbook run`; a run whose checks fail is archived all the same, and measured."""
    report = run(prepare(notebook, params, [], False, out))
    sizes = measure(report.paths.notebook, report.paths.html, report.paths.dir)
    return {**sizes, "outcome": report.outcome.value}


def with_defaults(notebook: Path, params: Path, folder: Path) -> dict[str, float]:
    folder.mkdir()
    executed = folder / "notebook.ipynb"
    outcome = "passed"
    try:
        papermill.execute_notebook(
            str(notebook),
            str(executed),
            parameters={"params_file": str(params)},
            cwd=str(notebook.parent),
            progress_bar=False,
        )
    except PapermillExecutionError as exc:  # the executed notebook is written all the same
        outcome = f"failed ({exc.ename})"
    html = folder / "notebook.html"
    body, _ = HTMLExporter().from_filename(str(executed))
    html.write_text(body)
    return {**measure(executed, html, folder), "outcome": outcome}


def bench(name: str, notebook: Path, params: Path, work: Path) -> None:
    before = with_renderer_before(notebook, work / f"before-{notebook.name}")
    rows = {
        "rollbook run": with_rollbook(notebook, params, work / "now"),
        "before (plotly.js in notebook)": with_rollbook(before, params, work / "before"),
        "papermill + nbconvert defaults": with_defaults(notebook, params, work / "defaults"),
    }
    print(f"\n{name}")
    header = f"{'':32}{'ipynb MB':>9}{'HTML MB':>9}{'folder MB':>10}"
    print(f"{header}  charts drawn offline: Chromium, Firefox, JupyterLab   run")
    for way, row in rows.items():
        print(
            f"{way:32}{row['ipynb_mb']:>9.2f}{row['html_mb']:>9.2f}{row['folder_mb']:>10.2f}"
            f"{row['chromium_drawn']:>18} / {row['charts']}{row['firefox_drawn']:>6} / "
            f"{row['charts']}{row['lab_drawn']:>6} / {row['charts']}"
            f"   {row['outcome']}"
        )
    now, before = rows["rollbook run"], rows["before (plotly.js in notebook)"]
    print(
        f"rollbook run / before: ipynb {now['ipynb_mb'] / before['ipynb_mb']:.2f}x, "
        f"HTML {now['html_mb'] / before['html_mb']:.2f}x, "
        f"folder {now['folder_mb'] / before['folder_mb']:.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runbook", type=Path, help="also bench this runbook (dry run)")
    parser.add_argument("--params", type=Path, help="params file for --runbook")
    args = parser.parse_args()
    if bool(args.runbook) != bool(args.params):
        parser.error("--runbook and --params go together")
    with tempfile.TemporaryDirectory(prefix="rollbook-bench-") as tmp:
        work = Path(tmp)
        os.environ[OUTPUT_DIR_ENV] = str(work / "interactive")  # runs outside `rollbook run`
        params = work / "params.yaml"
        params.write_text(SYNTHETIC_PARAMS)
        (work / "synthetic").mkdir()
        synthetic = synthetic_notebook(work / "synthetic" / "synthetic.ipynb")
        title = f"synthetic: {CHARTS} charts x {POINTS:,} points"
        bench(title, synthetic, params, work / "synthetic")
        if args.runbook:
            (work / "runbook").mkdir()
            bench(
                f"runbook: {args.runbook.name} (dry run)",
                args.runbook.absolute(),
                args.params.absolute(),
                work / "runbook",
            )


if __name__ == "__main__":
    main()
