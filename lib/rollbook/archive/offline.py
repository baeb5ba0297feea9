"""Check an archive the way a reviewer sees it, without network: the HTML in headless
Chromium, the notebook in JupyterLab (served on loopback) in headless Chromium."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
_RENDERED_PLOT = re.compile(r'<div[^>]*class="[^"]*\bjs-plotly-plot\b[^"]*"')


def _without_network(command: list[str]) -> list[str]:
    """Run in a fresh network namespace (no interface up) when we may create one."""
    if os.geteuid() == 0 and shutil.which("unshare"):
        return ["unshare", "--net", *command]
    return command


def chromium_dom(
    url: str, *, budget_ms: int = 15_000, timeout_s: int = 600, loopback: bool = False
) -> str:
    """The DOM of `url` after its scripts ran in headless Chromium, in a network namespace of
    its own; with `loopback`, in the caller's (already isolated), reaching 127.0.0.1 only."""
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
            "--host-resolver-rules=MAP * ~NOTFOUND" + (", EXCLUDE 127.0.0.1" if loopback else ""),
            f"--user-data-dir={profile}",
            f"--virtual-time-budget={budget_ms}",
            "--dump-dom",
            url,
        ]
        done = subprocess.run(
            command if loopback else _without_network(command),
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
    if done.returncode != 0:
        raise RuntimeError(f"chromium failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout


def rendered_dom(html: Path, *, budget_ms: int = 15_000, timeout_s: int = 600) -> str:
    """The DOM of `html` after its scripts ran in headless Chromium, offline."""
    return chromium_dom(Path(html).absolute().as_uri(), budget_ms=budget_ms, timeout_s=timeout_s)


def rendered_chart_count(html: Path) -> int:
    """How many plotly charts a browser without network actually draws from `html`."""
    return len(_RENDERED_PLOT.findall(rendered_dom(html)))


def lab_rendered_chart_count(notebook: Path, *, timeout_s: int = 600) -> int:
    """How many plotly charts JupyterLab draws from `notebook`: served on loopback and
    opened in headless Chromium, both in a network namespace of their own."""
    command = [sys.executable, "-m", "rollbook.archive.lab_view", str(Path(notebook).absolute())]
    done = subprocess.run(
        _without_network(command), capture_output=True, text=True, timeout=timeout_s
    )
    if done.returncode != 0:
        raise RuntimeError(f"JupyterLab view failed ({done.returncode}): {done.stderr[-2000:]}")
    return len(_RENDERED_PLOT.findall(done.stdout))
