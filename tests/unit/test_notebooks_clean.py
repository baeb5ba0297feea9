"""Committed runbooks: no outputs, a `parameters` cell first, thin code cells."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


def code_cells(path: Path) -> list:
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def test_there_are_runbooks():
    assert NOTEBOOKS, "no notebooks found in notebooks/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path):
    dirty = [i for i, c in enumerate(code_cells(path)) if c.outputs or c.execution_count]
    assert not dirty, f"{path.name}: code cells {dirty} carry outputs or execution counts"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_first_code_cell_is_the_parameters_cell(path):
    first = code_cells(path)[0]
    assert "parameters" in first.metadata.get("tags", [])
    assert "params_file" in first.source
    assert "apply = False" in first.source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_uses_the_rollbook_kernel(path):
    assert nbformat.read(path, as_version=4).metadata.kernelspec.name == "rollbook"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_code_cells_stay_thin(path):
    """Logic lives in lib/rollbook: no function or class definitions in a runbook."""
    for cell in code_cells(path):
        assert "def " not in cell.source and "class " not in cell.source, cell.source
        assert len(cell.source.splitlines()) <= 15, cell.source
