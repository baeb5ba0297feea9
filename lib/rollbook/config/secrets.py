"""Secret references: params name where a secret lives, never the secret itself."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, model_validator

from rollbook.errors import InputError

REDACTED = "***"


class SecretError(InputError, RuntimeError):
    """A secret reference that cannot be resolved (names the reference, never a value)."""


class SecretRef(BaseModel):
    """Where a secret lives: an environment variable or a file (mode 600), exactly one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    env: str | None = None
    file: Path | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of 'env' (variable name) or 'file' (path)")
        return self

    def describe(self) -> str:
        """Where the secret comes from, safe to print."""
        return f"env:{self.env}" if self.env else f"file:{self.file}"

    def resolve(self) -> str:
        """Read the secret value. Call this only inside the process that connects."""
        if self.env is not None:
            value = os.environ.get(self.env)
            if value is None:
                raise SecretError(f"environment variable {self.env} is not set")
            return value
        assert self.file is not None
        try:
            return self.file.read_text().strip()
        except OSError as exc:
            raise SecretError(f"cannot read secret file {self.file}: {exc.strerror}") from None


def secret_ref_from_value(value: object, field: str) -> object:
    """Reject a literal string where a reference is expected, with a message naming the field."""
    if isinstance(value, str):
        raise ValueError(
            f"a literal secret is not allowed in {field}; "
            "use {env: VARIABLE} or {file: /path/to/file} (or a libpq service / .pgpass)"
        )
    return value
