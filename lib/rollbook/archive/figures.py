"""Charts in the HTML export: drawn from their plotly JSON, plotly.js embedded once, gzipped.

The archived notebook keeps each chart once, as `application/vnd.plotly.v1+json` (what
JupyterLab renders). At export each such output becomes a `<div>` plus the figure as JSON,
and the page carries plotly.js once, gzip-compressed and base64-encoded (about 2 MB instead
of 4.8 MB); a small script unpacks it with the browser's `DecompressionStream`, from the
file itself, and draws every chart. A browser without `DecompressionStream` shows a message
in place of each chart. Outputs that already carry `text/html` (runs archived before this
export, with plotly.js in the notebook) are left as they were.
"""

from __future__ import annotations

import base64
import functools
import gzip
import json
from typing import Any

from nbconvert.preprocessors import Preprocessor
from nbformat import NotebookNode

PLOTLY_MIME = "application/vnd.plotly.v1+json"
FIGURE_CLASS = "rollbook-figure"
LOADER_KEY = "rollbook_plotly_loader"
_DEFAULT_HEIGHT_PX = 525  # plotly's own default figure height
# A chart the loader has neither drawn (plotly marks it js-plotly-plot) nor explained yet.
PENDING_CHART = "div.rollbook-chart:not(.js-plotly-plot):not(.rollbook-chart-missing)"

_LOADER = """<script id="rollbook-plotly-js" type="application/gzip+base64">{packed}</script>
<script>
/* plotly.js v{version}, gzip + base64 above: unpacked here, in the page, without network */
(function () {{
  var figures = Array.prototype.slice.call(document.querySelectorAll("script.{figure_class}"));
  function explain(text) {{
    figures.forEach(function (figure) {{
      var chart = figure.previousElementSibling;
      chart.style.cssText = "padding:8px 12px;border:1px solid #c0392b;color:#c0392b";
      chart.className += " rollbook-chart-missing";
      chart.textContent = text;
    }});
  }}
  if (typeof DecompressionStream === "undefined") {{
    explain("Chart not drawn: this browser cannot unpack the plotly.js embedded in this " +
      "report (it lacks DecompressionStream: Chrome/Edge 80+, Firefox 113+, Safari 16.4+). " +
      "Open the report in a current browser, or notebook.ipynb in JupyterLab.");
    return;
  }}
  var packed = document.getElementById("rollbook-plotly-js").textContent;
  var bytes = Uint8Array.from(atob(packed), function (c) {{ return c.charCodeAt(0); }});
  var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  new Response(stream).text().then(function (source) {{
    window.PlotlyConfig = {{MathJaxConfig: "local"}};
    var library = document.createElement("script");
    library.textContent = source;
    document.head.appendChild(library);
    figures.forEach(function (figure) {{
      var spec = JSON.parse(figure.textContent);
      var config = Object.assign({{responsive: true}}, spec.config || {{}});
      Plotly.newPlot(figure.previousElementSibling, spec.data, spec.layout || {{}}, config);
    }});
  }}).catch(function (error) {{
    explain("Chart not drawn: unpacking the embedded plotly.js failed (" + error + ").");
  }});
}})();
</script>"""


@functools.cache
def plotly_loader() -> str:
    """plotly.js (as shipped with plotly.py) gzipped and base64-encoded, and its loader."""
    from plotly.offline import get_plotlyjs, get_plotlyjs_version

    packed = gzip.compress(get_plotlyjs().encode(), compresslevel=9, mtime=0)
    return _LOADER.format(
        packed=base64.b64encode(packed).decode(),
        version=get_plotlyjs_version(),
        figure_class=FIGURE_CLASS,
    )


def _length(value: Any, default: str) -> str:
    return f"{value}px" if isinstance(value, int | float) and value > 0 else default


def figure_markup(figure: dict[str, Any]) -> str:
    """A chart's `<div>`, sized like plotly sizes it, followed by the figure as JSON."""
    layout = figure.get("layout") or {}
    height = _length(layout.get("height"), f"{_DEFAULT_HEIGHT_PX}px")
    width = _length(layout.get("width"), "100%")
    # "<" escaped so that no string in the data can end the script element early
    spec = json.dumps(figure, separators=(",", ":")).replace("<", "\\u003c")
    return (
        f'<div class="rollbook-chart" style="height:{height};width:{width}">'
        "<noscript>Chart not drawn: it needs JavaScript, which is off in this browser.</noscript>"
        "</div>"
        f'<script class="{FIGURE_CLASS}" type="application/json">{spec}</script>'
    )


class TypedPreprocessor(Preprocessor):
    """nbconvert's Preprocessor with an annotated constructor. nbconvert's methods carry no
    annotations: they are called as `Preprocessor.x(self, ...)`, not through super(), so that
    mypy's untyped_calls_exclude recognises them."""

    def __init__(self, **traits: Any) -> None:
        Preprocessor.__init__(self, **traits)


class DrawPlotlyFigures(TypedPreprocessor):
    """Give each plotly-JSON-only output its HTML; put the loader in the resources once."""

    def preprocess(
        self, nb: NotebookNode, resources: dict[str, Any]
    ) -> tuple[NotebookNode, dict[str, Any]]:
        resources[LOADER_KEY] = ""
        done: tuple[NotebookNode, dict[str, Any]] = Preprocessor.preprocess(self, nb, resources)
        return done

    def preprocess_cell(
        self, cell: NotebookNode, resources: dict[str, Any], index: int
    ) -> tuple[NotebookNode, dict[str, Any]]:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if PLOTLY_MIME in data and "text/html" not in data:
                data["text/html"] = figure_markup(data[PLOTLY_MIME])
                resources[LOADER_KEY] = plotly_loader()
        return cell, resources
