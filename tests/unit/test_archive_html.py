"""The HTML export: inputs collapsed, parameters redacted, nothing loaded from the network."""

import re

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from rollbook.archive.html import export_html, redact_assignments

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
