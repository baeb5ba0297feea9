"""One root for rollbook's errors: every exception class in lib/rollbook subclasses
`RollbookError` and says what it means; the CLI maps an error to its exit code in one
place, and the runner decides a run's outcome from the class of the error, not its name."""

from __future__ import annotations

import ast
import builtins
import importlib
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from rollbook.archive.results import RunResults
from rollbook.cli import main
from rollbook.errors import Busy, ChecksFailed, InputError, RollbookError, error_class
from rollbook.runner.execute import Execution
from rollbook.runner.outcome import EXIT_CODES, Outcome, decide

LIB = Path(__file__).resolve().parents[2] / "lib"
BUILTIN_EXCEPTIONS = {
    name for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, BaseException)
}  # fmt: skip


def exception_classes(root: Path) -> list[tuple[str, str]]:
    """(module, class name) of every class under `root` that derives from an exception,
    following bases defined in the package itself until nothing new is found."""
    classes = []
    for path in sorted(root.rglob("*.py")):
        module = ".".join(path.relative_to(root.parent).with_suffix("").parts)
        module = module.removesuffix(".__init__")
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                bases = {ast.unparse(b).rpartition(".")[2] for b in node.bases}
                classes.append((module, node.name, bases))
    exceptions = set(BUILTIN_EXCEPTIONS)
    while True:
        found = {name for _, name, bases in classes if bases & exceptions} - exceptions
        if not found:
            break
        exceptions |= found
    return [(module, name) for module, name, bases in classes if bases & exceptions]


def test_the_walk_finds_exception_classes_and_ignores_others(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "a.py").write_text(
        "class Base(ValueError): ...\nclass Derived(Base): ...\nclass Model(dict): ...\n"
    )
    found = exception_classes(package)
    assert found == [("pkg.a", "Base"), ("pkg.a", "Derived")]


def test_every_exception_class_is_a_documented_rollbook_error():
    found = exception_classes(LIB / "rollbook")
    assert len(found) >= 20  # the walk sees the package's errors
    for module, name in found:
        cls = getattr(importlib.import_module(module), name)
        assert issubclass(cls, RollbookError), f"{module}.{name} does not subclass RollbookError"
        assert cls.__doc__ and cls.__doc__.strip(), f"{module}.{name} has no docstring"
    names = [name for _, name in found]
    assert len(names) == len(set(names)), "error_class maps a name to one class"


@pytest.mark.parametrize(
    ("error", "code"),
    [(RollbookError, 1), (InputError, 2), (ChecksFailed, 1), (Busy, 4)],
)
def test_the_cli_maps_an_error_to_its_exit_code_in_one_place(monkeypatch, error, code):
    @click.command("boom")
    def boom() -> None:
        raise error("the reason, in one line")

    monkeypatch.setitem(main.commands, "boom", boom)
    result = CliRunner().invoke(main, ["boom"])
    assert result.exit_code == code
    assert result.output.strip() == "error: the reason, in one line"
    assert not isinstance(result.exception, RollbookError)  # handled, not a traceback


def test_params_errors_exit_2_through_the_cli(tmp_path):
    result = CliRunner().invoke(main, ["params", "check", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 2 and result.output.startswith("error: ")


def test_a_cells_error_is_known_by_its_class(tmp_path):
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    notebook = tmp_path / "nb.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("x = 1")]), notebook)

    class ReplicaNotCaughtUp(ChecksFailed):
        """A check-like failure defined outside the runner."""

    assert error_class("ReplicaNotCaughtUp") is ReplicaNotCaughtUp
    assert error_class("LockBusy").exit_code == EXIT_CODES[Outcome.BUSY]
    assert error_class("ValueError") is None
    execution = Execution(cell_error="ReplicaNotCaughtUp: 9 s", error_name="ReplicaNotCaughtUp")
    outcome, _ = decide(execution, RunResults(verdict="incomplete"), notebook)
    assert outcome is Outcome.FAILED
