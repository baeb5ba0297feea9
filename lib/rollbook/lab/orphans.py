"""Lab state left behind: as root, a lab keeps PostgreSQL's and PgBouncer's files in
`/var/tmp/rollbook-lab-<random>` ($ROLLBOOK_LAB_STATE_ROOT overrides /var/tmp); deleting
the lab directory by hand (instead of `rollbook lab reset`) leaves that directory, and
maybe its processes, behind.

A state directory records which lab directory owns it (`lab-dir`, written at every
`lab up`). It is an orphan when that lab is gone or now uses another state directory.
One with no owner recorded (last started by an older rollbook) may still belong to a
stopped lab: it is listed, and deleted only when asked for explicitly."""

from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from rollbook.lab.layout import LabLayout, LabNotFound
from rollbook.lab.process import pid_alive

STATE_ROOT_ENV = "ROLLBOOK_LAB_STATE_ROOT"
STATE_PREFIX = "rollbook-lab-"
OWNER_FILE = "lab-dir"
# Where a lab's processes keep their pid: PostgreSQL's first line, PgBouncer's only one.
PID_FILES = ("primary/postmaster.pid", "replica/postmaster.pid", "pgbouncer/pgbouncer.pid")


def state_root() -> Path:
    """Where labs run as root keep their state: $ROLLBOOK_LAB_STATE_ROOT, else /var/tmp."""
    return Path(os.environ.get(STATE_ROOT_ENV, "/var/tmp"))


def new_state_dir(root: Path | None = None) -> Path:
    """A fresh name for every lab, so a lab directory deleted by hand never meets old data."""
    return (root or state_root()) / f"{STATE_PREFIX}{secrets.token_hex(6)}"


def record_owner(layout: LabLayout) -> None:
    """Write the lab directory into its state directory (read back by `find`)."""
    (layout.state_path / OWNER_FILE).write_text(f"{layout.dir}\n")


UNOWNED = "no owning lab recorded"


@dataclass(frozen=True)
class Orphan:
    path: Path
    reason: str
    running_pids: tuple[int, ...]

    @property
    def owner_known(self) -> bool:
        return self.reason != UNOWNED

    @property
    def running(self) -> bool:
        return bool(self.running_pids)


def _why_orphaned(state_dir: Path) -> str | None:
    """None when a lab still uses `state_dir`, else why not."""
    try:
        owner = Path((state_dir / OWNER_FILE).read_text().strip())
    except OSError:
        return UNOWNED
    try:
        layout = LabLayout.load(owner)
    except LabNotFound:
        return f"its lab {owner} is gone"
    if layout.state_dir != state_dir:
        return f"its lab {owner} now uses {layout.state_dir}"
    return None


def _running_pids(state_dir: Path) -> tuple[int, ...]:
    pids = []
    for name in PID_FILES:
        try:
            pid = int((state_dir / name).read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
        if pid_alive(pid):
            pids.append(pid)
    return tuple(pids)


def find(root: Path | None = None) -> list[Orphan]:
    """Every orphaned state directory under `root` (default: `state_root()`)."""
    found = []
    for path in sorted((root or state_root()).glob(f"{STATE_PREFIX}*")):
        reason = _why_orphaned(path) if path.is_dir() else None
        if reason is not None:
            found.append(Orphan(path, reason, _running_pids(path)))
    return found


def remove(orphan: Orphan) -> None:
    """Delete an orphan's files; one with live processes is refused (stop them first)."""
    if orphan.running:
        raise RuntimeError(
            f"{orphan.path}: processes {', '.join(map(str, orphan.running_pids))} still run "
            "from it; stop them first"
        )
    shutil.rmtree(orphan.path)
