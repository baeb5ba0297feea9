"""Lazy package exports (`rollbook.lazy`) behave like eager `from ... import ...` lines."""

from __future__ import annotations

import importlib
import sys
import textwrap

import pytest


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A package `lazypkg` re-exporting `run` from its submodule `run` and `Other` from `slow`."""
    root = tmp_path / "lazypkg"
    root.mkdir()
    (root / "__init__.py").write_text(
        textwrap.dedent(
            """
            from typing import TYPE_CHECKING

            from rollbook.lazy import lazy_exports

            if TYPE_CHECKING:
                from lazypkg.run import run
                from .slow import Other as Renamed

            lazy_exports(__name__)
            """
        )
    )
    (root / "run.py").write_text("def run():\n    return 'ran'\n")
    (root / "slow.py").write_text("class Other:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    for name in [m for m in sys.modules if m == "lazypkg" or m.startswith("lazypkg.")]:
        del sys.modules[name]


def test_exports_load_their_module_on_first_use(package):
    import lazypkg

    assert "lazypkg.slow" not in sys.modules
    assert lazypkg.Renamed.__name__ == "Other"
    assert "lazypkg.slow" in sys.modules
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        lazypkg.missing  # noqa: B018


def test_an_export_named_like_its_submodule_stays_the_export(package):
    importlib.import_module("lazypkg.run")  # binds the submodule on its package, as any import
    from lazypkg import run

    assert run() == "ran"
