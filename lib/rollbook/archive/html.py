"""Self-contained HTML export: every chart offline, inputs collapsed, parameters redacted.

Charts are drawn from their plotly JSON with plotly.js embedded once, compressed
(`rollbook.archive.figures`); this export removes every script that would load from a CDN
(require.js, MathJax, mermaid) so the file never reaches for the network.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import jinja2
import nbformat
import yaml
from nbconvert import HTMLExporter
from nbformat import NotebookNode
from traitlets import Dict

from rollbook.archive.figures import LOADER_KEY, DrawPlotlyFigures, TypedPreprocessor

_TEMPLATE = (
    """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block input_group -%}
<details class="rollbook-input"><summary>code</summary>{{ super() }}</details>
{%- endblock input_group -%}
{%- block footer_js -%}{{ resources.get('"""
    + LOADER_KEY
    + """', '') }}{%- endblock footer_js -%}
"""
)
# Parameter names that look like they hold a secret: refused as overrides, redacted in HTML.
SECRET_NAME = re.compile(r"pass|secret|token|credential|api_?key", re.IGNORECASE)
_REMOTE_SCRIPT = re.compile(r"<script[^>]*\bsrc=[\"']https?://[^>]*>\s*</script>", re.IGNORECASE)
_ASSIGNMENT = re.compile(r"^(\s*)(\w+)(\s*=\s*)(.*)$")


def redact_assignments(source: str) -> str:
    """`name = value` lines with a secret-looking name get `***` as their value."""
    lines = []
    for line in source.splitlines():
        match = _ASSIGNMENT.match(line)
        if match and SECRET_NAME.search(match.group(2)):
            line = f"{match.group(1)}{match.group(2)}{match.group(3)}'***'"
        lines.append(line)
    return "\n".join(lines)


class RedactParameters(TypedPreprocessor):
    """Show the injected-parameters cell as redacted values plus the redacted params."""

    params = Dict(help="the redacted params shown under the injected values")

    def preprocess_cell(
        self, cell: NotebookNode, resources: dict[str, Any], index: int
    ) -> tuple[NotebookNode, dict[str, Any]]:
        if "injected-parameters" not in cell.metadata.get("tags", []):
            return cell, resources
        injected = html.escape(redact_assignments(cell.source))
        params = html.escape(yaml.safe_dump(self.params, sort_keys=False))
        text = (
            "**Injected parameters** (secrets redacted)\n\n"
            f"<pre>{injected}</pre>\n\n"
            f"<details><summary>params file, as validated (secrets as references)</summary>"
            f"<pre>{params}</pre></details>"
        )
        return nbformat.v4.new_markdown_cell(text, metadata=cell.metadata), resources


class DropRemoteScripts(TypedPreprocessor):
    """Remove `<script src="http...">` from HTML outputs (plotly adds a MathJax CDN tag)."""

    def preprocess_cell(
        self, cell: NotebookNode, resources: dict[str, Any], index: int
    ) -> tuple[NotebookNode, dict[str, Any]]:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "text/html" in data:
                markup = data["text/html"]
                text = "".join(markup) if isinstance(markup, list) else markup
                data["text/html"] = _REMOTE_SCRIPT.sub("", text)
        return cell, resources


def export_html(notebook: Path, target: Path, redacted_params: dict[str, Any]) -> None:
    """Write the self-contained HTML of an executed notebook."""
    nb = nbformat.read(notebook, as_version=4)
    exporter = HTMLExporter(
        template_name="lab",
        template_file="rollbook.html.j2",
        extra_loaders=[jinja2.DictLoader({"rollbook.html.j2": _TEMPLATE})],
        embed_images=True,
    )
    exporter.register_preprocessor(RedactParameters(params=redacted_params), enabled=True)
    exporter.register_preprocessor(DropRemoteScripts(), enabled=True)
    exporter.register_preprocessor(DrawPlotlyFigures(), enabled=True)
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": notebook.stem}})
    target.write_text(body)
