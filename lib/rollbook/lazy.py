"""Lazy package exports: a package re-exports names without importing their modules up front.

A package whose submodules pull in heavy libraries (pandas, scipy, papermill, ...) lists its
re-exports as `from ... import ...` lines under `if TYPE_CHECKING:` (so readers, linters and
type checkers see them) and ends with `lazy_exports(__name__)`. Each name is then imported
on first use (PEP 562), so importing one light submodule, or the CLI, stays fast.

An export that shares its name with a submodule (`rollbook.runner.run`, the function, in
`rollbook/runner/run.py`) stays the export, as with an eager `from .run import run`.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any


def type_checking_imports(source: str, package: str) -> dict[str, tuple[str, str]]:
    """`{exported name: (module, attribute)}` from the top-level `if TYPE_CHECKING:` block."""
    exports = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for statement in node.body:
                if isinstance(statement, ast.ImportFrom):
                    relative = "." * statement.level + (statement.module or "")
                    module = importlib.util.resolve_name(relative, package)
                    for alias in statement.names:
                        exports[alias.asname or alias.name] = (module, alias.name)
    return exports


class _LazyPackage(ModuleType):
    _lazy_exports: dict[str, tuple[str, str]]

    def __getattr__(self, name: str) -> Any:
        try:
            module, attribute = self._lazy_exports[name]
        except KeyError:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}") from None
        value = getattr(importlib.import_module(module), attribute)
        super().__setattr__(name, value)
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        # the import system binds each loaded submodule on its package: an export wins
        submodule = isinstance(value, ModuleType) and value.__name__ == f"{self.__name__}.{name}"
        if not (submodule and name in self._lazy_exports):
            super().__setattr__(name, value)


def lazy_exports(package: str) -> None:
    """Make `package` (being imported) load its `TYPE_CHECKING` re-exports on first use."""
    module = sys.modules[package]
    source = Path(module.__file__ or "").read_text(encoding="utf-8")
    module._lazy_exports = type_checking_imports(source, package)  # type: ignore[attr-defined]
    module.__class__ = _LazyPackage
