"""Imports go one way: the contracts of pyproject.toml's `[tool.importlinter]` (layers, no
lab in production code, no cycle between siblings) and no module on an import cycle.

Lazy (function-level) and `TYPE_CHECKING` imports count: a lazy import is a dependency
that waits, and the type checker follows the other. The fixture packages in
tests/fixtures/import_cycles show that each check reports a cycle.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp

REPO = Path(__file__).resolve().parents[2]
LIB = REPO / "lib"
CYCLES = REPO / "tests" / "fixtures" / "import_cycles"


def lint_imports(config: Path, package_dir: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` with `config`, the root package found in `package_dir` first."""
    path = [str(package_dir), *filter(None, [os.environ.get("PYTHONPATH")])]
    return subprocess.run(
        [Path(sys.executable).with_name("lint-imports"), "--no-cache", "--no-logo", config],
        capture_output=True,
        text=True,
        cwd=package_dir,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(path)},
        timeout=120,
        check=False,
    )


def module_cycles(package: str) -> list[tuple[str, str]]:
    """Each direct import `a -> b` from which `b` leads back to `a`: the imports on a cycle,
    a package's `__init__` included."""
    graph = grimp.build_graph(package, cache_dir=None)
    return sorted(
        (importer, imported)
        for importer in graph.modules
        for imported in graph.find_modules_directly_imported_by(importer)
        if graph.chain_exists(importer=imported, imported=importer)
    )


def project_contract(contract_id: str) -> dict:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    return next(c for c in contracts if c["id"] == contract_id)


def test_rollbook_keeps_its_import_contracts():
    done = lint_imports(REPO / "pyproject.toml", LIB)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 kept, 0 broken" in done.stdout


def test_no_rollbook_module_is_on_an_import_cycle():
    assert module_cycles("rollbook") == []


def test_the_cycle_contract_reports_a_cycle_between_siblings(tmp_path):
    contract = project_contract("no-cycles")
    config = tmp_path / "contracts.ini"
    config.write_text(
        "[importlinter]\nroot_package = siblings\n\n"
        f"[importlinter:contract:{contract['id']}]\n"
        f"name = {contract['name']}\ntype = {contract['type']}\nancestors = siblings\n"
    )
    done = lint_imports(config, CYCLES)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "No cycles are allowed in siblings." in done.stdout
    assert "1 broken" in done.stdout


def test_the_module_check_reports_cycles_lazy_or_through_a_package(monkeypatch):
    monkeypatch.syspath_prepend(str(CYCLES))
    assert module_cycles("siblings") == [
        ("siblings.first", "siblings.second"),
        ("siblings.second", "siblings.first"),
    ]
    assert module_cycles("through_init") == [
        ("through_init", "through_init.store"),
        ("through_init.store", "through_init"),
    ]
