"""The HTML export: inputs collapsed, parameters redacted, nothing loaded from the network,
charts drawn from their plotly JSON with plotly.js embedded once, compressed."""

import base64
import gzip
import json
import re
from pathlib import Path

import nbformat
import plotly.graph_objects as go
import plotly.io as pio
from click.testing import CliRunner
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from plotly.offline import get_plotlyjs

from rollbook.archive.html import export_html, redact_assignments
from rollbook.cli import main

CDN_TAG = '<script src="https://cdn.example/mathjax.js"></script>'


def test_redact_assignments_masks_secret_looking_names_only():
    source = "params_file = '/p.yaml'\ndb_password = 'hunter2'\napi_token=\"abc\""
    assert redact_assignments(source) == (
        "params_file = '/p.yaml'\ndb_password = '***'\napi_token='***'"
    )


def test_export_is_offline_collapsed_and_redacted(tmp_path):
    injected = new_code_cell(
        "params_file = '/srv/params/lab.yaml'\nvault_token = 'hunter2'\napply = False",
        metadata={"tags": ["injected-parameters"]},
    )
    chart = new_code_cell("fig.show()")
    chart.outputs = [new_output("display_data", data={"text/html": f"{CDN_TAG}<div>chart</div>"})]
    nb = new_notebook(cells=[new_markdown_cell("# Title"), injected, chart])
    nbformat.write(nb, tmp_path / "run.ipynb")
    export_html(tmp_path / "run.ipynb", tmp_path / "run.html", {"environment": "lab"})
    page = (tmp_path / "run.html").read_text()
    assert "hunter2" not in page
    assert "vault_token = '***'" in page
    assert "/srv/params/lab.yaml" in page and "environment: lab" in page
    assert re.findall(r"<script[^>]*src=", page) == []
    assert page.count('<details class="rollbook-input">') == 1  # the chart cell's code
    assert "<div>chart</div>" in page


PLOTLY_MIME = "application/vnd.plotly.v1+json"
OLD_RUN = Path(__file__).parents[1] / "fixtures" / "runs" / "20261202T093059Z-probe-fixture-2d391a"
_FIGURE = re.compile(r"<script[^>]*class=\"rollbook-figure\"[^>]*>(.*?)</script>")
_PACKED = re.compile(r'<script[^>]*type="application/gzip\+base64"[^>]*>([^<]*)</script>')


def chart_output(y: list[float]) -> nbformat.NotebookNode:
    figure = go.Figure(go.Scatter(y=y, name="</script><b>not markup</b>"))
    return new_output("display_data", data={PLOTLY_MIME: json.loads(pio.to_json(figure))})


def test_charts_are_drawn_from_their_mimetype_with_plotly_js_once_compressed(tmp_path):
    cell = new_code_cell("fig.show()")
    cell.outputs = [chart_output([i, 2, i]) for i in range(3)]
    nbformat.write(new_notebook(cells=[cell]), tmp_path / "run.ipynb")
    export_html(tmp_path / "run.ipynb", tmp_path / "run.html", {})
    page = (tmp_path / "run.html").read_text()
    figures = [json.loads(f) for f in _FIGURE.findall(page)]
    assert [f["data"][0]["y"] for f in figures] == [[i, 2, i] for i in range(3)]
    assert figures[0]["data"][0]["name"] == "</script><b>not markup</b>"
    (packed,) = _PACKED.findall(page)
    assert gzip.decompress(base64.b64decode(packed)).decode() == get_plotlyjs()
    assert get_plotlyjs()[-5_000:] not in page  # the library is there only compressed
    assert len(page) < len(get_plotlyjs()) / 2
    assert "DecompressionStream" in page
    assert page.count("<noscript>Chart not drawn: it needs JavaScript") == 3


def test_a_page_without_charts_carries_no_plotly_js(tmp_path):
    nbformat.write(new_notebook(cells=[new_markdown_cell("# no chart")]), tmp_path / "run.ipynb")
    export_html(tmp_path / "run.ipynb", tmp_path / "run.html", {})
    page = (tmp_path / "run.html").read_text()
    assert _PACKED.findall(page) == [] and "plotly" not in page.lower()


def test_a_run_archived_before_still_exports_and_reads(tmp_path):
    """The fixture is a run archived with plotly.js in the notebook (the library itself cut)."""
    export_html(OLD_RUN / "notebook.ipynb", tmp_path / "report.html", {})
    page = (tmp_path / "report.html").read_text()
    assert page.count("Plotly.newPlot(") == 2  # its own two text/html charts, not redrawn
    assert _FIGURE.findall(page) == [] and _PACKED.findall(page) == []
    shown = CliRunner().invoke(
        main, ["runs", "show", "2d391a", "--output-dir", str(OLD_RUN.parent)]
    )
    assert shown.exit_code == 0, shown.output
    assert shown.output.startswith("PASSED (exit code 0)")
    assert "probe latency" in shown.output
