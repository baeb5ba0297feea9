"""What every params section is built on: `Strict` (unknown keys are errors) and `Secret`
(a reference to a secret, never its value)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationInfo

from rollbook.config.secrets import SecretRef, secret_ref_from_value


def _no_literal_secret(value: Any, info: ValidationInfo) -> Any:
    return secret_ref_from_value(value, info.field_name or "a secret field")


Secret = Annotated[SecretRef | None, BeforeValidator(_no_literal_secret)]


class Strict(BaseModel):
    """Base for every params section: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")
