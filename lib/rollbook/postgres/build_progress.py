"""Show an index build's progress: a tqdm bar live, log lines in headless runs.

In a headless run (`rollbook.run_context`) a redrawn bar would end up in the archive as
hundreds of carriage-return fragments, so each phase change and every `log_every_seconds`
is one line.
"""

from __future__ import annotations

import sys
import time

from tqdm.std import tqdm

from rollbook.postgres.index_build import BuildProgress


class ProgressDisplay:
    """A callable for `run_watched(on_progress=...)`; use as a context manager."""

    def __init__(self, label: str, *, log_lines: bool, log_every_seconds=5.0):
        self.label = label
        self.log_lines = log_lines
        self.log_every_seconds = log_every_seconds
        self.bar: tqdm | None = None
        self.phase = ""
        self.logged_at = 0.0

    def __call__(self, progress: BuildProgress) -> None:
        done, total = progress.done_total
        if self.log_lines:
            now = time.monotonic()
            if progress.phase != self.phase or now - self.logged_at >= self.log_every_seconds:
                share = f" {done:,}/{total:,} ({done / total:.0%})" if total else ""
                print(f"{self.label}: {progress.phase}{share}", flush=True)
                self.logged_at = now
        else:
            if self.bar is None:
                self.bar = tqdm(total=total, desc=self.label, file=sys.stdout, unit="")
            self.bar.set_description(f"{self.label}: {progress.phase}", refresh=False)
            self.bar.total = total
            self.bar.n = done
            self.bar.refresh()
        self.phase = progress.phase

    def __enter__(self) -> ProgressDisplay:
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()
