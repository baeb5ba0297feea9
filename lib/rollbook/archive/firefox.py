"""Open an archived HTML report in headless Firefox ESR, driven over Marionette.

Run as `python -m rollbook.archive.firefox URL PENDING` inside a network namespace of its
own (`rollbook.archive.offline.rendered_dom` does): it brings loopback up (Marionette
listens there), starts Firefox with a fresh profile, opens the page, waits until no element
matches the CSS selector PENDING (e.g. a chart neither drawn nor explained) or `settle_s`
has passed, and prints the page's DOM. Debian packages no geckodriver; Marionette is
Firefox's own protocol (length-prefixed JSON over TCP), so the standard library suffices.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rollbook.archive.offline import FIREFOX, loopback_up

# Marionette picks a free port and writes it to MarionetteActivePort in the profile. The
# dead proxy keeps a run without a network namespace (not root) off the network too.
_PREFS = {
    "marionette.port": 0,
    "network.proxy.type": 1,
    "network.proxy.http": "127.0.0.1",
    "network.proxy.http_port": 9,
    "network.proxy.ssl": "127.0.0.1",
    "network.proxy.ssl_port": 9,
    "network.proxy.no_proxies_on": "",
    "app.update.disabledForTesting": True,
    "browser.shell.checkDefaultBrowser": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.reportingpolicy.firstRun": False,
}

# Chromium runs a page's timers in virtual time until idle; Firefox cannot, so we poll.
_SETTLE = """
const [pending, settleMs] = arguments;
const deadline = performance.now() + settleMs;
return new Promise((resolve) => (function check() {
  if (!document.querySelector(pending) || performance.now() > deadline) resolve();
  else setTimeout(check, 100);
})());
"""


class _Marionette:
    """Just enough of the Marionette client protocol: one command at a time."""

    def __init__(self, port: int, timeout_s: float) -> None:
        self._sock = socket.create_connection(("127.0.0.1", port), timeout=timeout_s)
        self._reader = self._sock.makefile("rb")
        self._id = 0
        self._receive()  # the greeting: {"applicationType": "gecko", ...}

    def _receive(self) -> Any:
        length = b""
        while (byte := self._reader.read(1)) != b":":
            if not byte:
                raise RuntimeError("Marionette closed the connection")
            length += byte
        return json.loads(self._reader.read(int(length)))

    def command(self, name: str, params: dict[str, Any]) -> Any:
        self._id += 1
        message = json.dumps([0, self._id, name, params]).encode()
        self._sock.sendall(b"%d:%s" % (len(message), message))
        _, _, error, result = self._receive()
        if error:
            raise RuntimeError(f"Marionette {name}: {error}")
        return result

    def close(self) -> None:
        self._reader.close()
        self._sock.close()


def _active_port(profile: Path, browser: subprocess.Popen[bytes], deadline_s: float) -> int:
    written = profile / "MarionetteActivePort"
    deadline = time.monotonic() + deadline_s
    while not written.exists() or not written.read_text().strip():
        if browser.poll() is not None:
            raise RuntimeError(f"firefox exited ({browser.returncode})")
        if time.monotonic() > deadline:
            raise RuntimeError(f"firefox opened no Marionette port within {deadline_s:.0f} s")
        time.sleep(0.1)
    return int(written.read_text())


def firefox_dom(url: str, pending: str, *, settle_s: float = 60, start_s: float = 120) -> str:
    """The DOM of `url` in headless Firefox once nothing matches `pending` (at most
    `settle_s` after the page loaded: a waiting limit, not a delay)."""
    loopback_up()
    with tempfile.TemporaryDirectory(prefix="rollbook-firefox-") as tmp:
        profile = Path(tmp)
        prefs = "".join(
            f"user_pref({json.dumps(k)}, {json.dumps(v)});\n" for k, v in _PREFS.items()
        )
        (profile / "user.js").write_text(prefs)
        command = [FIREFOX, "--headless", "--marionette", "--no-remote", "--profile", tmp]
        with subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        ) as browser:
            try:
                client = _Marionette(_active_port(profile, browser, start_s), timeout_s=start_s)
                client.command("WebDriver:NewSession", {})
                client.command("WebDriver:SetTimeouts", {"script": (settle_s + 60) * 1000})
                client.command("WebDriver:Navigate", {"url": url})
                client.command(
                    "WebDriver:ExecuteScript",
                    {"script": _SETTLE, "args": [pending, settle_s * 1000]},
                )
                dom: str = client.command("WebDriver:GetPageSource", {})["value"]
                client.command("Marionette:Quit", {"flags": ["eForceQuit"]})
                client.close()
                browser.wait(timeout=30)
                return dom
            finally:
                if browser.poll() is None:
                    browser.kill()


if __name__ == "__main__":
    sys.stdout.write(firefox_dom(sys.argv[1], sys.argv[2]))
