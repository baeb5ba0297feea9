"""The files rollbook ships besides its code: the runbooks (`notebooks/`), the SQL the
rollout applies (`migrations/`), the monitoring files (`monitoring/`) and the params files
(`params/`: the lab's and the examples).

A wheel carries them inside the package, in `rollbook/_data/` (`setup.py` copies them
there). A checkout (an editable install, or `lib/` on PYTHONPATH) uses its own top-level
folders, so the notebooks a DBA edits in JupyterLab are the ones that run.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

# The checkout's folders a wheel carries in rollbook/_data/, each with the files it ships.
SHIPPED = {
    "notebooks": ("*.ipynb",),
    "migrations": ("*.sql",),
    "monitoring": ("*/*.yml", "*/*.yaml", "*/*.json"),
    "params": ("lab.yaml", "*.example.yaml"),
}
PACKAGED = "_data"


def _package() -> Path:
    # A wheel installs as files (never zipped): Prometheus and papermill need real paths.
    return Path(str(resources.files("rollbook")))


@functools.cache
def checkout() -> Path | None:
    """The checkout this package is imported from (`lib/rollbook` in it), else None."""
    root = _package().parent.parent
    if (root / "pyproject.toml").is_file() and (root / "lib" / "rollbook").is_dir():
        return root
    return None


@functools.cache
def data_dir() -> Path:
    """The folder that holds notebooks/, migrations/, monitoring/ and params/."""
    packaged = _package() / PACKAGED
    if packaged.is_dir():
        return packaged
    return checkout() or packaged


def folder(name: str) -> Path:
    """One of the shipped folders (`SHIPPED`), e.g. `folder("notebooks")`."""
    if name not in SHIPPED:
        raise ValueError(f"{name!r}: rollbook ships {', '.join(SHIPPED)}")
    return data_dir() / name


def lab_params() -> Path:
    """params/lab.yaml: the embedded lab's params (its endpoints come from the lab dir)."""
    return folder("params") / "lab.yaml"
