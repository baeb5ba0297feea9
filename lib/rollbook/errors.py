"""The errors rollbook raises on purpose: one root, `RollbookError`, and a few kinds below it.

Each class says what it means for the user: `exit_code` is what `rollbook` exits with when
a command raises it (the CLI catches `RollbookError` once), `outcome` is how the runner
reports a run whose cell raised it (papermill gives the runner the class name only, which
`error_class` maps back to the class). Modules define their own errors as subclasses of
one of these, keeping a built-in base (`ValueError`, `KeyError`, ...) where callers catch it.

    RollbookError   exit 1, outcome "error": something went wrong while working
    ├── InputError  exit 2: input the user gave is wrong (params, a file, a name, a value)
    ├── ChecksFailed exit 1, outcome "failed": a required check failed or had no data
    └── Busy        exit 4, outcome "busy": another run of the same step holds the lock

This module imports nothing from rollbook, so any layer may use it.
"""

from __future__ import annotations

from typing import ClassVar


class RollbookError(Exception):
    """Root of every error rollbook raises on purpose (exit code 1, outcome "error")."""

    exit_code: ClassVar[int] = 1
    outcome: ClassVar[str] = "error"


class InputError(RollbookError):
    """Input the user gave is wrong: a params file, a plan, a name, a duration (exit code 2)."""

    exit_code = 2


class ChecksFailed(RollbookError):
    """A required check failed or had no data (exit code 1, outcome "failed")."""

    outcome = "failed"


class Busy(RollbookError):
    """Another run of the same step holds its lock (exit code 4, outcome "busy")."""

    exit_code = 4
    outcome = "busy"


def _subclasses(cls: type[RollbookError]) -> list[type[RollbookError]]:
    found: list[type[RollbookError]] = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def error_class(name: str | None) -> type[RollbookError] | None:
    """The imported `RollbookError` subclass called `name` (as papermill names a cell's
    exception: the class's `__name__`), else None."""
    if name is None:
        return None
    classes: list[type[RollbookError]] = [RollbookError, *_subclasses(RollbookError)]
    return next((c for c in classes if c.__name__ == name), None)
