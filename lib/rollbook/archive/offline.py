"""Check an archived HTML the way a reviewer sees it: headless Chromium, no network."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
_RENDERED_PLOT = re.compile(r'<div[^>]*class="[^"]*\bjs-plotly-plot\b[^"]*"')


def _without_network(command: list[str]) -> list[str]:
    """Run in a fresh network namespace (no interface up) when we may create one."""
    if os.geteuid() == 0 and shutil.which("unshare"):
        return ["unshare", "--net", *command]
    return command


def rendered_dom(html: Path, *, budget_ms: int = 15_000, timeout_s: int = 600) -> str:
    """The DOM of `html` after its scripts ran in headless Chromium, offline."""
    with tempfile.TemporaryDirectory(prefix="rollbook-chromium-") as profile:
        command = [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--user-data-dir={profile}",
            f"--virtual-time-budget={budget_ms}",
            "--dump-dom",
            Path(html).absolute().as_uri(),
        ]
        done = subprocess.run(
            _without_network(command), capture_output=True, text=True, timeout=timeout_s
        )
    if done.returncode != 0:
        raise RuntimeError(f"chromium failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout


def rendered_chart_count(html: Path) -> int:
    """How many plotly charts a browser without network actually draws from `html`."""
    return len(_RENDERED_PLOT.findall(rendered_dom(html)))
