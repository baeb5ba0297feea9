"""Load a params file: YAML -> lab endpoints filled in -> overrides -> validated Params."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import ValidationError

from rollbook.errors import InputError
from rollbook.params.model import Params


class ParamsError(InputError, ValueError):
    """Bad params: one message naming the file and every field that is wrong."""


_Section = TypeVar("_Section")


def required(section: _Section | None, name: str) -> _Section:
    """An optional params section that this step needs, or ParamsError naming it."""
    if section is None:
        raise ParamsError(f"params have no `{name}` section, which this step needs")
    return section


def _field_path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc if not str(p).startswith("function-")) or "(top level)"


def _describe(exc: ValidationError, source: str) -> str:
    lines = []
    for err in exc.errors():
        where = _field_path(err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] == "missing":
            msg = "required field is missing"
        lines.append(f"{where}: {msg}")
    return f"{source}: invalid params\n  " + "\n  ".join(lines)


def read_params_file(path: Path) -> dict[str, Any]:
    """Read the YAML mapping of a params file, with a clear error for an unreadable file."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ParamsError(f"{path}: cannot read params file: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ParamsError(f"{path}: a params file must be a YAML mapping of sections")
    return data


def set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set `a.b.c` in nested dicts, creating the sections on the way."""
    *parents, last = dotted.split(".")
    node = data
    for key in parents:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise ParamsError(f"override {dotted}: {key} is not a section")
        node = child
    node[last] = value


def _fill_from_lab(data: dict[str, Any]) -> None:
    from rollbook.lab.layout import LabLayout, LabNotFound

    lab = data.get("lab")
    if not isinstance(lab, dict):
        return
    try:
        layout = LabLayout.load(lab.get("dir"))
    except LabNotFound as exc:
        raise ParamsError(f"lab: {exc}") from None
    for section, value in layout.endpoints().items():
        given = data.get(section) or {}
        if isinstance(given, dict):
            data[section] = {**value, **given}


def validate_params(data: dict[str, Any], source: str = "params") -> Params:
    """Validate a params mapping (lab endpoints filled in first)."""
    data = dict(data)
    _fill_from_lab(data)
    try:
        return Params.model_validate(data)
    except ValidationError as exc:
        raise ParamsError(_describe(exc, source)) from None


def load_params(path: Path | str, overrides: dict[str, Any] | None = None) -> Params:
    """Read, override (dotted keys) and validate a params file."""
    data = read_params_file(Path(path))
    for key, value in (overrides or {}).items():
        set_dotted(data, key, value)
    return validate_params(data, str(path))
