"""Orphaned lab state: found when its lab is gone or moved on, kept while a lab uses it or
a process runs from it; `lab gc` deletes only with --apply."""

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from rollbook.cli.lab import lab_group
from rollbook.lab import orphans
from rollbook.lab.layout import LabLayout


def state(root: Path, lab_dir: Path | None, pid: int | None = None) -> Path:
    """A state directory under `root`, owned by `lab_dir`, with a primary pid file."""
    path = orphans.new_state_dir(root)
    (path / "primary").mkdir(parents=True)
    if lab_dir is not None:
        layout = LabLayout(lab_dir, state_dir=path)
        orphans.record_owner(layout)
    if pid is not None:
        (path / "primary" / "postmaster.pid").write_text(f"{pid}\n/data\n")
    return path


def test_state_of_a_live_lab_is_not_an_orphan(tmp_path):
    used = state(tmp_path, tmp_path / "lab")
    LabLayout(tmp_path / "lab", state_dir=used).save()
    assert orphans.find(tmp_path) == []


def test_gone_moved_and_unowned_state_are_orphans(tmp_path):
    gone = state(tmp_path, tmp_path / "deleted-lab")
    moved = state(tmp_path, tmp_path / "lab")
    current = state(tmp_path, tmp_path / "lab")
    LabLayout(tmp_path / "lab", state_dir=current).save()
    unowned = state(tmp_path, None)
    found = {o.path: o for o in orphans.find(tmp_path)}
    assert set(found) == {gone, moved, unowned}
    assert "is gone" in found[gone].reason
    assert f"now uses {current}" in found[moved].reason
    assert not found[unowned].owner_known and found[gone].owner_known


def test_an_orphan_with_a_live_process_is_refused(tmp_path):
    busy = state(tmp_path, tmp_path / "deleted-lab", pid=os.getpid())
    (orphan,) = orphans.find(tmp_path)
    assert orphan.running_pids == (os.getpid(),)
    with pytest.raises(RuntimeError, match="still run"):
        orphans.remove(orphan)
    assert busy.exists()


@pytest.mark.parametrize(
    "args, left",
    [
        ([], {"gone", "unowned"}),
        (["--apply"], {"unowned"}),
        (["--apply", "--include-unowned"], set()),
    ],
)
def test_lab_gc_deletes_only_when_asked(tmp_path, monkeypatch, args, left):
    paths = {"gone": state(tmp_path, tmp_path / "deleted-lab"), "unowned": state(tmp_path, None)}
    monkeypatch.setenv(orphans.STATE_ROOT_ENV, str(tmp_path))
    done = CliRunner().invoke(lab_group, ["gc", *args])
    assert done.exit_code == 0, done.output
    assert {name for name, path in paths.items() if path.exists()} == left
    assert all(str(path) in done.output for path in paths.values())
