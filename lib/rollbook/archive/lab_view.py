"""Open an archived notebook in JupyterLab, served on loopback, in headless Chromium.

Run as `python -m rollbook.archive.lab_view NOTEBOOK` inside a network namespace of its own
(`rollbook.archive.offline.lab_rendered_chart_count` does): it brings loopback up, serves a
copy of the notebook with JupyterLab (windowing off, so every cell is drawn), and prints
the page's DOM once Chromium has rendered it.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rollbook.archive.offline import chromium_dom, loopback_up

# JupyterLab draws only the cells on screen unless windowing is off.
_TRACKER_SETTINGS = "@jupyterlab/notebook-extension/tracker.jupyterlab-settings"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _wait_for(port: int, server: subprocess.Popen[bytes], deadline_s: float) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"jupyter lab exited ({server.returncode})")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"jupyter lab did not listen on {port} within {deadline_s:.0f} s")


def lab_dom(notebook: Path, *, budget_ms: int = 30_000, start_s: float = 120) -> str:
    """The DOM of JupyterLab showing `notebook`, after Chromium ran its scripts."""
    loopback_up()
    with tempfile.TemporaryDirectory(prefix="rollbook-lab-view-") as tmp:
        root, settings = Path(tmp) / "root", Path(tmp) / "settings"
        root.mkdir()
        shutil.copy(notebook, root / "notebook.ipynb")
        (settings / _TRACKER_SETTINGS).parent.mkdir(parents=True)
        (settings / _TRACKER_SETTINGS).write_text('{"windowingMode": "none"}')
        port, token = _free_port(), secrets.token_hex(16)
        env = {**os.environ, "JUPYTER_RUNTIME_DIR": f"{tmp}/runtime"}
        command = [
            sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
            "--ip=127.0.0.1", f"--port={port}", f"--ServerApp.root_dir={root}",
            f"--IdentityProvider.token={token}", f"--LabApp.user_settings_dir={settings}",
            f"--LabApp.workspaces_dir={tmp}/workspaces", "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]  # fmt: skip
        with subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        ) as server:
            try:
                _wait_for(port, server, start_s)
                url = f"http://127.0.0.1:{port}/lab/tree/notebook.ipynb?token={token}"
                return chromium_dom(url, budget_ms=budget_ms, loopback=True)
            finally:
                server.terminate()
                server.wait(timeout=30)


if __name__ == "__main__":
    sys.stdout.write(lab_dom(Path(sys.argv[1])))
