"""The files rollbook ships, found from a checkout (the wheel's copies:
tests/integration/test_wheel.py), and runbooks run by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from rollbook import resources
from rollbook.runner.inputs import BadInput, find_notebook, notebook_parameters

REPO = Path(__file__).resolve().parents[2]


def test_a_checkout_uses_its_own_top_level_folders():
    assert resources.checkout() == REPO
    assert resources.data_dir() == REPO
    assert resources.folder("notebooks") == REPO / "notebooks"
    assert resources.lab_params() == REPO / "params" / "lab.yaml"


@pytest.mark.parametrize("folder", sorted(resources.SHIPPED))
def test_every_shipped_folder_has_files_to_ship(folder):
    patterns = resources.SHIPPED[folder]
    assert [p for pattern in patterns for p in resources.folder(folder).glob(pattern)]


def test_an_unknown_folder_is_refused():
    with pytest.raises(ValueError, match="rollbook ships notebooks"):
        resources.folder("outputs")


@pytest.mark.parametrize("name", ["explain_explorer", "explain_explorer.ipynb"])
def test_a_runbook_runs_by_name_from_any_folder(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert find_notebook(name) == REPO / "notebooks" / "explain_explorer.ipynb"


def test_a_notebook_file_comes_before_a_shipped_runbook_of_that_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "explain_explorer.ipynb").write_text("{}")
    assert find_notebook("explain_explorer.ipynb") == tmp_path / "explain_explorer.ipynb"


@pytest.mark.parametrize("name", ["no_such_runbook", "elsewhere/explain_explorer.ipynb"])
def test_neither_a_file_nor_a_shipped_runbook_is_no_such_notebook(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert find_notebook(name) == tmp_path / name
    with pytest.raises(BadInput, match="no such notebook"):
        notebook_parameters(find_notebook(name))
