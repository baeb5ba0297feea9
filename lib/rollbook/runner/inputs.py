"""Everything checked before a kernel starts: the notebook, its parameters, the overrides."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import nbformat

from rollbook import resources
from rollbook.archive.html import SECRET_NAME
from rollbook.errors import InputError
from rollbook.params import Params, ParamsError, load_params

# Parameters every runbook declares; the runner sets them from --params / --apply and the
# run it starts (`rollbook.run_context`).
RUNNER_PARAMETERS = ("params_file", "apply", "run_context")
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


class BadInput(InputError, ValueError):
    """Input rejected before any kernel starts (exit code 2)."""


def find_notebook(notebook: Path | str) -> Path:
    """A notebook's path, or the name of a runbook rollbook ships (`00_preflight`, with or
    without `.ipynb`; `rollbook files notebooks` is their folder) when no such file exists."""
    path = Path(notebook)
    if path.exists() or len(path.parts) != 1:
        return path.absolute()
    shipped = resources.folder("notebooks") / (path.name.removesuffix(".ipynb") + ".ipynb")
    return shipped if shipped.is_file() else path.absolute()


def notebook_parameters(notebook: Path) -> dict[str, Any]:
    """The parameters cell of `notebook` as {name: default value}."""
    import papermill

    if not notebook.is_file():
        raise BadInput(f"{notebook}: no such notebook")
    try:
        nbformat.read(notebook, as_version=4)
    except Exception as exc:  # nbformat raises several unrelated types
        raise BadInput(f"{notebook}: not a readable notebook: {exc}") from None
    try:
        declared = papermill.inspect_notebook(str(notebook))
    except ValueError as exc:  # e.g. no kernelspec in the metadata
        raise BadInput(f"{notebook}: {exc}") from None
    if not declared:
        raise BadInput(f"{notebook}: no code cell tagged 'parameters'")
    defaults = {}
    for name, info in declared.items():
        try:
            defaults[name] = ast.literal_eval(info["default"])
        except (ValueError, SyntaxError):
            defaults[name] = info["default"]
    missing = [p for p in RUNNER_PARAMETERS if p not in defaults]
    if missing:
        raise BadInput(f"{notebook}: the parameters cell must declare {', '.join(missing)}")
    return defaults


def _typed_like(name: str, text: str, default: Any) -> Any:
    expected = type(default).__name__
    try:
        if isinstance(default, bool):
            if text.lower() in _TRUE | _FALSE:
                return text.lower() in _TRUE
            raise ValueError
        if isinstance(default, int | float):
            return type(default)(text)
    except ValueError:
        raise BadInput(
            f"override {name}={text!r}: expected {expected} like the default {default!r}"
        ) from None
    return text


def parse_overrides(pairs: list[str], declared: dict[str, Any]) -> dict[str, Any]:
    """`name=value` strings -> typed values; each name must be a declared parameter."""
    overrides: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise BadInput(f"override {pair!r}: write it as name=value")
        if name in RUNNER_PARAMETERS:
            raise BadInput(
                f"override {name}: the runner sets it (--params, --apply, the run context), not -p"
            )
        if SECRET_NAME.search(name):
            raise BadInput(
                f"override {name}: never pass a secret as a parameter "
                "(papermill writes parameters in clear text); reference it in the params file"
            )
        if name not in declared:
            known = ", ".join(n for n in declared if n not in RUNNER_PARAMETERS) or "none"
            raise BadInput(f"override {name}: the notebook does not declare it (declared: {known})")
        overrides[name] = _typed_like(name, text, declared[name])
    return overrides


def validated_params(params_file: Path) -> Params:
    """The params file, validated; a ParamsError becomes BadInput with the same message."""
    try:
        return load_params(params_file)
    except ParamsError as exc:
        raise BadInput(str(exc)) from None
