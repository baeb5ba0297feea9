"""Check an archive the way a reviewer sees it, without network: the HTML in headless
Chromium and Firefox ESR, the notebook in JupyterLab (served on loopback) in headless
Chromium."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
FIREFOX = "/usr/bin/firefox-esr"
BROWSERS = ("chromium", "firefox")
_RENDERED_PLOT = re.compile(r'<div[^>]*class="[^"]*\bjs-plotly-plot\b[^"]*"')


def _without_network(command: list[str]) -> list[str]:
    """Run in a fresh network namespace (no interface up) when we may create one."""
    if os.geteuid() == 0 and shutil.which("unshare"):
        return ["unshare", "--net", *command]
    return command


def loopback_up() -> None:
    """Bring loopback up: it starts down in a fresh network namespace (a no-op elsewhere)."""
    if os.geteuid() == 0 and shutil.which("ip"):
        subprocess.run(["ip", "link", "set", "lo", "up"], check=False)


def _output(command: list[str], what: str, *, timeout_s: int, isolate: bool = True) -> str:
    """`command`'s standard output, run in a network namespace of its own if `isolate`."""
    done = subprocess.run(
        _without_network(command) if isolate else command,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout


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
        return _output(command, "chromium", timeout_s=timeout_s, isolate=not loopback)


def rendered_dom(
    html: Path, *, browser: str = "chromium", budget_ms: int = 15_000, timeout_s: int = 600
) -> str:
    """The DOM of `html` after its scripts ran in headless `browser` (one of BROWSERS),
    offline. `budget_ms` is Chromium's virtual time; Firefox stops once no chart is pending."""
    url = Path(html).absolute().as_uri()
    if browser == "chromium":
        return chromium_dom(url, budget_ms=budget_ms, timeout_s=timeout_s)
    if browser == "firefox":
        from rollbook.archive.figures import PENDING_CHART  # nbconvert: only when needed

        command = [sys.executable, "-m", "rollbook.archive.firefox", url, PENDING_CHART]
        return _output(command, "firefox", timeout_s=timeout_s)
    raise ValueError(f"unknown browser {browser!r}; known: {', '.join(BROWSERS)}")


def rendered_chart_count(html: Path, *, browser: str = "chromium") -> int:
    """How many plotly charts `browser` without network actually draws from `html`."""
    return len(_RENDERED_PLOT.findall(rendered_dom(html, browser=browser)))


def lab_rendered_chart_count(notebook: Path, *, timeout_s: int = 600) -> int:
    """How many plotly charts JupyterLab draws from `notebook`: served on loopback and
    opened in headless Chromium, both in a network namespace of their own."""
    command = [sys.executable, "-m", "rollbook.archive.lab_view", str(Path(notebook).absolute())]
    return len(_RENDERED_PLOT.findall(_output(command, "JupyterLab view", timeout_s=timeout_s)))
